package io.infermesh.xds.snapshot;

import static io.infermesh.xds.snapshot.MeshFixtures.EU;
import static io.infermesh.xds.snapshot.MeshFixtures.SERVICE;
import static io.infermesh.xds.snapshot.MeshFixtures.US;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MeshSnapshotBuilderTest {

  private static final String GW_EU = "spiffe://mesh.local/" + EU + "/gateway/gw-eu-1";
  private static final String GW_MARS = "spiffe://mesh.local/mars-1/gateway/gw-mars";
  private static final SecretMaterial SECRETS = new SecretMaterial("-----BEGIN CERTIFICATE-----\nCA\n",
      Map.of(GW_EU, new SecretMaterial.Identity("EU-CHAIN", "EU-KEY"),
          GW_MARS, new SecretMaterial.Identity("MARS-CHAIN", "MARS-KEY")));

  private static MeshSnapshots build(MeshState state, MeshPolicy policy) {
    return MeshSnapshotBuilder.build(state, policy, BurstShares.none(), SECRETS);
  }

  private static MeshPolicy canaryPolicy() {
    ServicePolicy service = ServicePolicy.grpc(SERVICE)
        .withVersions(List.of(new VersionWeight("v1", 90), new VersionWeight("v2", 10)))
        .withShadow(new ShadowPolicy("v3", 5));
    return MeshFixtures.policy().withService(service);
  }

  private static MeshState versionedState() {
    List<MeshEndpoint> eps = new ArrayList<>();
    for (MeshEndpoint e : MeshFixtures.endpoints()) {
      eps.add(e);
    }
    eps.add(MeshEndpoint.builder(SERVICE, "10.5.0.1", 9443, EU).id("canary-1").zone("a").version("v2").build());
    eps.add(MeshEndpoint.builder(SERVICE, "10.5.0.2", 9443, EU).id("shadow-1").zone("a").version("v3").build());
    return MeshState.of(eps);
  }

  private static RouteConfiguration route(Snapshot s, String name) {
    return s.routes().resources().get(name);
  }

  @Test
  void build_makesOneGroupPerRegionAndPlanePlusUnlocated() {
    MeshSnapshots snapshots = build(MeshFixtures.state(), MeshFixtures.policy());
    assertThat(snapshots.snapshots().keySet()).filteredOn(g -> g.identity().isEmpty()).containsExactlyInAnyOrder(
        new XdsGroup(DataPlane.ENVOY, EU), new XdsGroup(DataPlane.ENVOY, US),
        new XdsGroup(DataPlane.ENVOY, "aws-burst"), XdsGroup.unlocated(DataPlane.ENVOY),
        new XdsGroup(DataPlane.GRPC, EU), new XdsGroup(DataPlane.GRPC, US),
        new XdsGroup(DataPlane.GRPC, "aws-burst"), XdsGroup.unlocated(DataPlane.GRPC));
  }

  /**
   * java-control-plane's ensureConsistent() only recognises the deprecated filter name
   * "envoy.http_connection_manager" and ignores API listeners, so consistency is checked here:
   * every route configuration a listener names exists, every route's clusters exist, and every
   * cluster has exactly one load assignment.
   */
  static void assertConsistent(XdsGroup group, Snapshot s) throws InvalidProtocolBufferException {
    assertThat(s.endpoints().resources().keySet()).as(group + " EDS = CDS")
        .isEqualTo(s.clusters().resources().keySet());
    Set<String> referenced = new HashSet<>();
    for (Listener l : s.listeners().resources().values()) {
      if (l.hasApiListener()) {
        referenced.add(l.getApiListener().getApiListener().unpack(HttpConnectionManager.class).getRds().getRouteConfigName());
      }
      for (var chain : l.getFilterChainsList()) {
        for (var filter : chain.getFiltersList()) {
          referenced.add(filter.getTypedConfig().unpack(HttpConnectionManager.class).getRds().getRouteConfigName());
        }
      }
    }
    assertThat(s.routes().resources().keySet()).as(group + " RDS = LDS references").isEqualTo(referenced);
    for (RouteConfiguration rc : s.routes().resources().values()) {
      for (Route r : rc.getVirtualHosts(0).getRoutesList()) {
        List<String> targets = r.getRoute().hasWeightedClusters()
            ? r.getRoute().getWeightedClusters().getClustersList().stream().map(w -> w.getName()).toList()
            : List.of(r.getRoute().getCluster());
        assertThat(s.clusters().resources().keySet()).as(group + " route " + r.getName()).containsAll(targets);
      }
    }
  }

  @Test
  void build_everySnapshot_isConsistent() throws InvalidProtocolBufferException {
    MeshSnapshots snapshots = build(versionedState(), canaryPolicy());
    for (var e : snapshots.snapshots().entrySet()) {
      assertConsistent(e.getKey(), e.getValue());
    }
  }

  @Test
  void build_grpcGroup_hasApiListenerNamedAsTheService() throws InvalidProtocolBufferException {
    Snapshot s = build(MeshFixtures.state(), MeshFixtures.policy()).get(DataPlane.GRPC, EU);
    assertThat(s.listeners().resources()).containsOnlyKeys(SERVICE);
    Listener listener = s.listeners().resources().get(SERVICE);
    assertThat(listener.hasApiListener()).isTrue();
    assertThat(listener.getFilterChainsList()).isEmpty();
    HttpConnectionManager hcm = listener.getApiListener().getApiListener().unpack(HttpConnectionManager.class);
    assertThat(hcm.getRds().getRouteConfigName()).isEqualTo(SERVICE);
    assertThat(hcm.getRds().getConfigSource().hasAds()).isTrue();
    assertThat(hcm.getHttpFiltersList()).extracting(f -> f.getName()).containsExactly("envoy.filters.http.router");
    assertThat(s.routes().resources()).containsOnlyKeys(SERVICE);
    assertThat(s.secrets().resources()).isEmpty();
  }

  @Test
  void build_grpcClusters_haveNoEnvoyOnlySettings() {
    Cluster c = build(MeshFixtures.state(), MeshFixtures.policy()).get(DataPlane.GRPC, EU)
        .clusters().resources().get(SERVICE);
    assertThat(c.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
    assertThat(c.getEdsClusterConfig().getEdsConfig().hasAds()).isTrue();
    assertThat(c.hasTransportSocket()).isFalse();
    assertThat(c.getHealthChecksList()).isEmpty();
    assertThat(c.getTypedExtensionProtocolOptionsMap()).isEmpty();
    assertThat(c.hasOutlierDetection()).as("off for proxyless by default (grpc-java 1.85 bug)").isFalse();
    assertThat(c.getCircuitBreakers().getThresholds(0).getMaxRequests().getValue()).isEqualTo(1024);
  }

  @Test
  void build_outlierDetection_onEnvoyAlways_onProxylessWhenAskedFor() {
    var o = UpstreamPolicy.OutlierSettings.defaults();
    var on = new UpstreamPolicy.OutlierSettings(true, o.consecutive5xx(), o.interval(), o.baseEjectionTime(),
        o.maxEjectionPercent(), o.failurePercentageThreshold(), o.failurePercentageMinimumHosts(),
        o.failurePercentageRequestVolume());
    var up = UpstreamPolicy.defaults();
    MeshPolicy policy = MeshFixtures.policy().withUpstream(new UpstreamPolicy(up.connectTimeout(), up.lbPolicy(), on,
        up.circuitBreakers(), up.retries(), up.healthChecks()));
    MeshSnapshots snapshots = build(MeshFixtures.state(), policy);
    Cluster grpc = snapshots.get(DataPlane.GRPC, EU).clusters().resources().get(SERVICE);
    assertThat(grpc.getOutlierDetection().getEnforcingFailurePercentage().getValue()).isEqualTo(100);
    assertThat(grpc.getOutlierDetection().getFailurePercentageMinimumHosts().getValue()).isEqualTo(2);
    Cluster envoy = build(MeshFixtures.state(), MeshFixtures.policy()).get(DataPlane.ENVOY, EU).clusters().resources().get(SERVICE);
    assertThat(envoy.getOutlierDetection().getConsecutive5Xx().getValue()).isEqualTo(5);
    assertThat(envoy.getOutlierDetection().getBaseEjectionTime().getSeconds()).isEqualTo(30);
  }

  @Test
  void build_envoyGroup_hasIngressListenerRoutesClustersAndOnlyTheTrustBundle() throws InvalidProtocolBufferException {
    Snapshot s = build(versionedState(), canaryPolicy()).get(DataPlane.ENVOY, EU);
    assertThat(s.listeners().resources()).containsOnlyKeys("ingress");
    Listener ingress = s.listeners().resources().get("ingress");
    assertThat(ingress.getAddress().getSocketAddress().getPortValue()).isEqualTo(10_000);
    assertThat(ingress.getFilterChains(0).getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
    assertThat(s.routes().resources()).containsOnlyKeys("ingress");
    assertThat(s.clusters().resources()).containsOnlyKeys(
        SERVICE, SERVICE + "|v1", SERVICE + "|v2", SERVICE + "|v3");
    assertThat(s.endpoints().resources()).containsOnlyKeys(s.clusters().resources().keySet());
    assertThat(s.secrets().resources()).containsOnlyKeys("infermesh-trust-bundle");
  }

  @Test
  void build_gatewayIdentity_getsAGroupOfItsOwnWithItsCertificateAndItsRegionsEndpoints() {
    MeshSnapshots all = build(versionedState(), canaryPolicy());
    Snapshot own = all.snapshots().get(new XdsGroup(DataPlane.ENVOY, EU, GW_EU));
    Map<String, Secret> secrets = own.secrets().resources();
    assertThat(secrets).containsOnlyKeys("infermesh-identity", "infermesh-trust-bundle");
    assertThat(secrets.get("infermesh-identity").getTlsCertificate().getCertificateChain().getInlineString())
        .isEqualTo("EU-CHAIN");
    Snapshot region = all.get(DataPlane.ENVOY, EU);
    assertThat(own.endpoints().version()).isEqualTo(region.endpoints().version());
    assertThat(own.clusters().version()).isEqualTo(region.clusters().version());
    // a gateway of an unlisted region gets the unlocated endpoints, and still only its own key
    Snapshot mars = all.snapshots().get(new XdsGroup(DataPlane.ENVOY, "", GW_MARS));
    assertThat(mars.secrets().resources().get("infermesh-identity").getTlsCertificate().getPrivateKey()
        .getInlineString()).isEqualTo("MARS-KEY");
    assertThat(all.snapshots().keySet()).filteredOn(g -> !g.identity().isEmpty())
        .containsExactlyInAnyOrder(new XdsGroup(DataPlane.ENVOY, EU, GW_EU), new XdsGroup(DataPlane.ENVOY, "", GW_MARS));
  }

  @Test
  void build_envoyClusters_useMtlsViaSdsAndRequireTheServerRole() throws InvalidProtocolBufferException {
    Cluster c = build(MeshFixtures.state(), MeshFixtures.policy()).get(DataPlane.ENVOY, EU)
        .clusters().resources().get(SERVICE);
    UpstreamTlsContext tls = c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    var common = tls.getCommonTlsContext();
    assertThat(common.getTlsCertificateSdsSecretConfigs(0).getName()).isEqualTo("infermesh-identity");
    assertThat(common.getTlsCertificateSdsSecretConfigs(0).getSdsConfig().hasAds()).isTrue();
    var validation = common.getCombinedValidationContext();
    assertThat(validation.getValidationContextSdsSecretConfig().getName()).isEqualTo("infermesh-trust-bundle");
    String regex = validation.getDefaultValidationContext().getMatchTypedSubjectAltNames(0)
        .getMatcher().getSafeRegex().getRegex();
    assertThat("spiffe://mesh.local/eu-west/core/gpu-1").matches(regex);
    assertThat("spiffe://mesh.local/eu-west/edge/laptop").doesNotMatch(regex);
    assertThat("spiffe://meshXlocal/eu-west/core/gpu-1").doesNotMatch(regex);
    assertThat(common.getAlpnProtocolsList()).containsExactly("h2");
    assertThat(c.getHealthChecks(0).hasGrpcHealthCheck()).isTrue();
    assertThat(c.getCommonLbConfig().hasLocalityWeightedLbConfig()).isTrue();
    assertThat(c.getTypedExtensionProtocolOptionsMap())
        .containsKey("envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
  }

  @Test
  void build_mtlsOff_emitsNoTransportSocketsOrSecrets() {
    MeshSnapshots snapshots = build(MeshFixtures.state(), MeshFixtures.policy().withMtls(false));
    Snapshot envoy = snapshots.get(DataPlane.ENVOY, EU);
    assertThat(envoy.clusters().resources().values()).noneMatch(Cluster::hasTransportSocket);
    assertThat(envoy.listeners().resources().get("ingress").getFilterChains(0).hasTransportSocket()).isFalse();
    assertThat(envoy.secrets().resources()).isEmpty();
  }

  @Test
  void build_httpService_getsHttp1AndHttpHealthCheck_andIsNotOfferedToGrpcClients() {
    ServicePolicy http = new ServicePolicy("edge-http", Protocol.HTTP, "/v1/", "edge", List.of(),
        Optional.empty(), ServicePolicy.DEFAULT_PIN_HEADER, Duration.ofMinutes(5));
    MeshPolicy policy = MeshFixtures.policy().withService(http);
    List<MeshEndpoint> eps = new ArrayList<>(MeshFixtures.endpoints());
    eps.add(MeshEndpoint.builder("edge-http", "10.7.0.1", 8080, EU).build());
    MeshSnapshots snapshots = build(MeshState.of(eps), policy);
    Cluster c = snapshots.get(DataPlane.ENVOY, EU).clusters().resources().get("edge-http");
    assertThat(c.getHealthChecks(0).getHttpHealthCheck().getPath()).isEqualTo("/healthz");
    assertThat(snapshots.get(DataPlane.GRPC, EU).clusters().resources()).doesNotContainKey("edge-http");
    assertThat(snapshots.get(DataPlane.GRPC, EU).listeners().resources()).containsOnlyKeys(SERVICE);
    // longest prefix first: /v1/ before /
    List<Route> routes = route(snapshots.get(DataPlane.ENVOY, EU), "ingress").getVirtualHosts(0).getRoutesList();
    assertThat(routes.get(routes.size() - 1).getMatch().getPrefix()).isEqualTo("/");
    assertThat(routes.get(0).getMatch().getPrefix()).isEqualTo("/v1/");
    Route edgeDefault = routes.stream().filter(r -> r.getName().equals("edge-http/default")).findFirst().orElseThrow();
    assertThat(edgeDefault.getRoute().getTimeout().getSeconds()).isEqualTo(300);
  }

  @Test
  void build_canary_splitsByWeightAndPinsEachVersion() {
    Snapshot s = build(versionedState(), canaryPolicy()).get(DataPlane.GRPC, EU);
    List<Route> routes = route(s, SERVICE).getVirtualHosts(0).getRoutesList();
    assertThat(routes).extracting(Route::getName).containsExactly(
        SERVICE + "/pin/v1", SERVICE + "/pin/v2", SERVICE + "/pin/v3", SERVICE + "/default");
    Route pinV2 = routes.get(1);
    assertThat(pinV2.getMatch().getHeaders(0).getName()).isEqualTo("x-infermesh-model-version");
    assertThat(pinV2.getMatch().getHeaders(0).getStringMatch().getExact()).isEqualTo("v2");
    assertThat(pinV2.getRoute().getCluster()).isEqualTo(SERVICE + "|v2");
    var weighted = routes.get(3).getRoute().getWeightedClusters().getClustersList();
    assertThat(weighted).extracting(w -> w.getName(), w -> w.getWeight().getValue())
        .containsExactly(org.assertj.core.groups.Tuple.tuple(SERVICE + "|v1", 90),
            org.assertj.core.groups.Tuple.tuple(SERVICE + "|v2", 10));
  }

  @Test
  void build_shadow_mirrorsOnEnvoyOnly() {
    MeshSnapshots snapshots = build(versionedState(), canaryPolicy());
    Route envoyDefault = route(snapshots.get(DataPlane.ENVOY, EU), "ingress").getVirtualHosts(0).getRoutesList()
        .stream().filter(r -> r.getName().endsWith("/default")).findFirst().orElseThrow();
    var mirror = envoyDefault.getRoute().getRequestMirrorPolicies(0);
    assertThat(mirror.getCluster()).isEqualTo(SERVICE + "|v3");
    assertThat(mirror.getRuntimeFraction().getDefaultValue().getNumerator()).isEqualTo(500);
    Route grpcDefault = route(snapshots.get(DataPlane.GRPC, EU), SERVICE).getVirtualHosts(0).getRoutesList()
        .stream().filter(r -> r.getName().endsWith("/default")).findFirst().orElseThrow();
    assertThat(grpcDefault.getRoute().getRequestMirrorPoliciesList()).isEmpty();
  }

  @Test
  void build_canaryWithoutHealthyEndpoints_getsNoTraffic() {
    MeshState noCanary = MeshState.of(versionedState().endpoints().stream()
        .map(e -> e.version().equals("v2") ? e.withHealth(EndpointHealth.UNHEALTHY) : e).toList());
    Route def = route(build(noCanary, canaryPolicy()).get(DataPlane.GRPC, EU), SERVICE)
        .getVirtualHosts(0).getRoutesList().stream().filter(r -> r.getName().endsWith("/default"))
        .findFirst().orElseThrow();
    assertThat(def.getRoute().getCluster()).isEqualTo(SERVICE + "|v1");
  }

  @Test
  void build_noDeclaredVersionServing_fallsBackToAllVersionsCluster() {
    MeshPolicy policy = MeshFixtures.policy().withService(ServicePolicy.grpc(SERVICE)
        .withVersions(List.of(new VersionWeight("v8", 50), new VersionWeight("v9", 50))));
    Route def = route(build(MeshFixtures.state(), policy).get(DataPlane.GRPC, EU), SERVICE)
        .getVirtualHosts(0).getRoutesList().stream().filter(r -> r.getName().endsWith("/default"))
        .findFirst().orElseThrow();
    assertThat(def.getRoute().getCluster()).isEqualTo(SERVICE);
  }

  @Test
  void build_retries_grpcGetsOnlyGrpcConditions_envoyRetriesOnAnotherHost() {
    MeshSnapshots snapshots = build(MeshFixtures.state(), MeshFixtures.policy());
    Route grpc = route(snapshots.get(DataPlane.GRPC, EU), SERVICE).getVirtualHosts(0).getRoutes(1);
    assertThat(grpc.getRoute().getRetryPolicy().getRetryOn()).isEqualTo("unavailable");
    assertThat(grpc.getRoute().getRetryPolicy().getNumRetries().getValue()).isEqualTo(2);
    assertThat(grpc.getRoute().getRetryPolicy().getRetryHostPredicateList()).isEmpty();
    Route envoy = route(snapshots.get(DataPlane.ENVOY, EU), "ingress").getVirtualHosts(0).getRoutes(1);
    assertThat(envoy.getRoute().getRetryPolicy().getRetryOn()).isEqualTo("connect-failure,refused-stream,reset,unavailable");
    assertThat(envoy.getRoute().getRetryPolicy().getRetryHostPredicate(0).getName())
        .isEqualTo("envoy.retry_host_predicates.previous_hosts");
  }

  @Test
  void build_retriesWithNoGrpcCondition_omitsGrpcRetryPolicy() {
    MeshPolicy policy = MeshFixtures.policy().withUpstream(UpstreamPolicy.defaults().withRetries(
        new UpstreamPolicy.RetrySettings(List.of("connect-failure"), 2, Duration.ofMillis(10), Duration.ofMillis(10))));
    Route grpc = route(build(MeshFixtures.state(), policy).get(DataPlane.GRPC, EU), SERVICE).getVirtualHosts(0).getRoutes(1);
    assertThat(grpc.getRoute().hasRetryPolicy()).isFalse();
  }

  @Test
  void build_endpointsDependOnTheGroupsRegion() {
    MeshSnapshots snapshots = build(MeshFixtures.state(), MeshFixtures.policy());
    ClusterLoadAssignment eu = snapshots.get(DataPlane.GRPC, EU).endpoints().resources().get(SERVICE);
    ClusterLoadAssignment us = snapshots.get(DataPlane.GRPC, US).endpoints().resources().get(SERVICE);
    assertThat(eu.getEndpointsList()).filteredOn(l -> l.getPriority() == 0)
        .allMatch(l -> l.getLocality().getRegion().equals(EU));
    assertThat(us.getEndpointsList()).filteredOn(l -> l.getPriority() == 0)
        .allMatch(l -> l.getLocality().getRegion().equals(US));
    assertThat(snapshots.get(DataPlane.ENVOY, EU).endpoints().resources().get(SERVICE)).isEqualTo(eu);
  }

  @Test
  void build_burstShares_reachTheEndpoints() {
    MeshSnapshots snapshots = MeshSnapshotBuilder.build(MeshFixtures.state(), MeshFixtures.policy(),
        BurstShares.of(SERVICE, EU, 0.2), SECRETS);
    ClusterLoadAssignment eu = snapshots.get(DataPlane.GRPC, EU).endpoints().resources().get(SERVICE);
    assertThat(eu.getEndpointsList()).filteredOn(l -> l.getLocality().getRegion().equals("aws-burst"))
        .singleElement().satisfies(l -> {
          assertThat(l.getPriority()).isZero();
          assertThat(l.getLoadBalancingWeight().getValue()).isEqualTo(2000);
        });
    ClusterLoadAssignment us = snapshots.get(DataPlane.GRPC, US).endpoints().resources().get(SERVICE);
    assertThat(us.getEndpointsList()).filteredOn(l -> l.getLocality().getRegion().equals("aws-burst"))
        .singleElement().satisfies(l -> assertThat(l.getPriority()).isEqualTo(2));
  }

  @Test
  void build_sameStateInAnyOrder_givesSameVersions() {
    List<MeshEndpoint> shuffled = new ArrayList<>(versionedState().endpoints());
    Collections.reverse(shuffled);
    Snapshot a = build(versionedState(), canaryPolicy()).get(DataPlane.ENVOY, EU);
    Snapshot b = build(MeshState.of(shuffled), canaryPolicy()).get(DataPlane.ENVOY, EU);
    for (var type : io.envoyproxy.controlplane.cache.Resources.ResourceType.values()) {
      assertThat(b.version(type)).as(type.name()).isEqualTo(a.version(type));
    }
  }

  @Test
  void build_endpointHealthChange_changesOnlyEndpointVersion() {
    Snapshot before = build(MeshFixtures.state(), MeshFixtures.policy()).get(DataPlane.GRPC, EU);
    MeshState changed = MeshFixtures.state().with(MeshFixtures.endpoints().get(0).withHealth(EndpointHealth.UNHEALTHY));
    Snapshot after = build(changed, MeshFixtures.policy()).get(DataPlane.GRPC, EU);
    var types = io.envoyproxy.controlplane.cache.Resources.ResourceType.class;
    assertThat(after.version(types.getEnumConstants()[0])).isNotNull();
    assertThat(after.clusters().version()).isEqualTo(before.clusters().version());
    assertThat(after.listeners().version()).isEqualTo(before.listeners().version());
    assertThat(after.routes().version()).isEqualTo(before.routes().version());
    assertThat(after.endpoints().version()).isNotEqualTo(before.endpoints().version());
  }

  @Test
  void build_emptyMesh_stillServesListenersAndEmptyClusters() throws InvalidProtocolBufferException {
    Snapshot s = build(MeshState.empty(), MeshFixtures.policy()).get(DataPlane.GRPC, EU);
    assertThat(s.listeners().resources()).containsOnlyKeys(SERVICE);
    assertThat(s.endpoints().resources().get(SERVICE).getEndpointsList()).isEmpty();
    assertConsistent(new XdsGroup(DataPlane.GRPC, EU), s);
    assertConsistent(new XdsGroup(DataPlane.ENVOY, EU), build(MeshState.empty(), MeshFixtures.policy()).get(DataPlane.ENVOY, EU));
  }
}
