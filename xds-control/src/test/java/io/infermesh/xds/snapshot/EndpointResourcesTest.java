package io.infermesh.xds.snapshot;

import static io.infermesh.xds.snapshot.MeshFixtures.BURST;
import static io.infermesh.xds.snapshot.MeshFixtures.EU;
import static io.infermesh.xds.snapshot.MeshFixtures.US;
import static io.infermesh.xds.snapshot.MeshFixtures.endpoint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;

class EndpointResourcesTest {

  private static final ToDoubleFunction<String> NO_BURST = r -> 0;

  private static ClusterLoadAssignment assign(List<MeshEndpoint> endpoints, String region, ToDoubleFunction<String> burst) {
    return EndpointResources.assignment("c", endpoints, region, burst);
  }

  /** (region, zone, priority, weight) per locality, in emitted order. */
  private static List<org.assertj.core.groups.Tuple> plan(ClusterLoadAssignment cla) {
    List<org.assertj.core.groups.Tuple> out = new ArrayList<>();
    for (LocalityLbEndpoints l : cla.getEndpointsList()) {
      out.add(tuple(l.getLocality().getRegion(), l.getLocality().getZone(), l.getPriority(),
          l.getLoadBalancingWeight().getValue()));
    }
    return out;
  }

  @Test
  void assignment_ownRegionFirst_otherPrivateNext_publicLast() {
    ClusterLoadAssignment cla = assign(MeshFixtures.endpoints(), EU, NO_BURST);
    assertThat(cla.getClusterName()).isEqualTo("c");
    assertThat(plan(cla)).containsExactlyInAnyOrder(
        tuple(EU, "a", 0, 2), tuple(EU, "b", 0, 1), tuple(US, "a", 1, 2), tuple(BURST, "a", 2, 2));
  }

  @Test
  void assignment_fromTheOtherRegion_mirrorsThePriorities() {
    assertThat(plan(assign(MeshFixtures.endpoints(), US, NO_BURST))).containsExactlyInAnyOrder(
        tuple(EU, "a", 1, 2), tuple(EU, "b", 1, 1), tuple(US, "a", 0, 2), tuple(BURST, "a", 2, 2));
  }

  @Test
  void assignment_ownRegionAllUnhealthy_failsOverAndKeepsPrioritiesContiguous() {
    List<MeshEndpoint> eps = MeshFixtures.endpoints().stream()
        .map(e -> e.region().equals(EU) ? e.withHealth(EndpointHealth.UNHEALTHY) : e)
        .toList();
    assertThat(plan(assign(eps, EU, NO_BURST))).containsExactlyInAnyOrder(
        tuple(US, "a", 0, 2), tuple(BURST, "a", 1, 2));
  }

  @Test
  void assignment_allPrivateGone_publicBecomesPriorityZero() {
    List<MeshEndpoint> eps = MeshFixtures.endpoints().stream().filter(e -> e.tier() == Tier.PUBLIC).toList();
    assertThat(plan(assign(eps, EU, NO_BURST))).containsExactly(tuple(BURST, "a", 0, 2));
  }

  @Test
  void assignment_noEndpoints_isEmptyButNamed() {
    ClusterLoadAssignment cla = assign(List.of(), EU, NO_BURST);
    assertThat(cla.getClusterName()).isEqualTo("c");
    assertThat(cla.getEndpointsList()).isEmpty();
  }

  @Test
  void assignment_unhealthyEndpointInHealthyLocality_isListedUnhealthyAndNotWeighted() {
    List<MeshEndpoint> eps = new ArrayList<>(MeshFixtures.endpoints());
    eps.set(0, eps.get(0).withHealth(EndpointHealth.UNHEALTHY));
    eps.set(1, eps.get(1).withHealth(EndpointHealth.DRAINING));
    eps.add(endpoint(EU, "b", Tier.PRIVATE, 8));
    ClusterLoadAssignment cla = assign(eps, EU, NO_BURST);
    // eu-west/a has no serving endpoint left: dropped; eu-west/b now has 2
    assertThat(plan(cla)).containsExactlyInAnyOrder(
        tuple(EU, "b", 0, 2), tuple(US, "a", 1, 2), tuple(BURST, "a", 2, 2));

    List<MeshEndpoint> mixed = new ArrayList<>(MeshFixtures.endpoints());
    mixed.set(0, mixed.get(0).withHealth(EndpointHealth.UNHEALTHY));
    LocalityLbEndpoints euA = assign(mixed, EU, NO_BURST).getEndpointsList().stream()
        .filter(l -> l.getLocality().getZone().equals("a") && l.getLocality().getRegion().equals(EU))
        .findFirst().orElseThrow();
    assertThat(euA.getLoadBalancingWeight().getValue()).isEqualTo(1);
    assertThat(euA.getLbEndpointsList()).extracting(e -> e.getHealthStatus())
        .containsExactlyInAnyOrder(HealthStatus.UNHEALTHY, HealthStatus.HEALTHY);
  }

  @Test
  void assignment_unlocatedClient_putsAllPrivateRegionsFirst() {
    assertThat(plan(assign(MeshFixtures.endpoints(), "", NO_BURST))).containsExactlyInAnyOrder(
        tuple(EU, "a", 0, 2), tuple(EU, "b", 0, 1), tuple(US, "a", 0, 2), tuple(BURST, "a", 1, 2));
  }

  @Test
  void assignment_clientInPublicRegion_prefersItsOwnRegion() {
    assertThat(plan(assign(MeshFixtures.endpoints(), BURST, NO_BURST))).containsExactlyInAnyOrder(
        tuple(EU, "a", 1, 2), tuple(EU, "b", 1, 1), tuple(US, "a", 1, 2), tuple(BURST, "a", 0, 2));
  }

  @Test
  void assignment_bursting_movesPublicIntoPriorityZeroWithExactlyTheShare() {
    ClusterLoadAssignment cla = assign(MeshFixtures.endpoints(), EU, r -> r.equals(EU) ? 0.16 : 0);
    // 10000 * 0.84 = 8400 split 2:1 over eu-west a/b; 1600 to the public locality
    assertThat(plan(cla)).containsExactlyInAnyOrder(
        tuple(EU, "a", 0, 5600), tuple(EU, "b", 0, 2800), tuple(BURST, "a", 0, 1600), tuple(US, "a", 1, 2));
  }

  @Test
  void assignment_otherRegionBursting_doesNotAffectThisRegion() {
    ClusterLoadAssignment cla = assign(MeshFixtures.endpoints(), EU, r -> r.equals(US) ? 0.3 : 0);
    assertThat(plan(cla)).containsExactlyInAnyOrder(
        tuple(EU, "a", 0, 2), tuple(EU, "b", 0, 1), tuple(US, "a", 1, 2), tuple(BURST, "a", 2, 2));
  }

  @Test
  void assignment_burstingWithNoPublicEndpoints_changesNothing() {
    List<MeshEndpoint> eps = MeshFixtures.endpoints().stream().filter(e -> e.tier() == Tier.PRIVATE).toList();
    assertThat(plan(assign(eps, EU, r -> 0.4))).containsExactlyInAnyOrder(
        tuple(EU, "a", 0, 2), tuple(EU, "b", 0, 1), tuple(US, "a", 1, 2));
  }

  @Test
  void assignment_burstingAfterFailover_usesTheServingRegionsShare() {
    List<MeshEndpoint> eps = MeshFixtures.endpoints().stream().filter(e -> !e.region().equals(EU)).toList();
    // eu-west client, eu-west gone: us-east serves priority 0 and it is bursting at 25 %
    assertThat(plan(assign(eps, EU, r -> r.equals(US) ? 0.25 : 0))).containsExactlyInAnyOrder(
        tuple(US, "a", 0, 7500), tuple(BURST, "a", 0, 2500));
  }

  @Test
  void assignment_tinyShareOverManyLocalities_neverEmitsZeroWeight() {
    List<MeshEndpoint> eps = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      eps.add(endpoint(EU, "z" + i, Tier.PRIVATE, i));
      eps.add(endpoint(BURST, "z" + i, Tier.PUBLIC, 50 + i));
    }
    ClusterLoadAssignment cla = assign(eps, EU, r -> 0.0001);
    assertThat(cla.getEndpointsList()).allSatisfy(l -> assertThat(l.getLoadBalancingWeight().getValue()).isPositive());
  }

  @Test
  void assignment_endpoints_carryAddressAndMetadata() {
    MeshEndpoint e = MeshEndpoint.builder("core-inference", "10.1.2.3", 9443, EU)
        .id("gpu-1").zone("a").model("llama").version("v7").utilization(0.3).build();
    ClusterLoadAssignment cla = assign(List.of(e), EU, NO_BURST);
    var lb = cla.getEndpoints(0).getLbEndpoints(0);
    assertThat(lb.getEndpoint().getAddress().getSocketAddress().getAddress()).isEqualTo("10.1.2.3");
    assertThat(lb.getEndpoint().getAddress().getSocketAddress().getPortValue()).isEqualTo(9443);
    assertThat(lb.getHealthStatus()).isEqualTo(HealthStatus.HEALTHY);
    var meta = lb.getMetadata().getFilterMetadataOrThrow("infermesh").getFieldsMap();
    assertThat(meta.get("id").getStringValue()).isEqualTo("gpu-1");
    assertThat(meta.get("version").getStringValue()).isEqualTo("v7");
    assertThat(meta.get("model").getStringValue()).isEqualTo("llama");
    assertThat(meta.get("tier").getStringValue()).isEqualTo("private");
  }
}
