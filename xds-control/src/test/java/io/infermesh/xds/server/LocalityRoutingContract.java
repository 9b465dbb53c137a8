package io.infermesh.xds.server;

import static io.infermesh.xds.testing.TestMeshes.EU;
import static io.infermesh.xds.testing.TestMeshes.PUBLIC;
import static io.infermesh.xds.testing.TestMeshes.US;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.infermesh.xds.snapshot.EndpointHealth;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.testing.TestBackend;
import io.infermesh.xds.testing.TestMeshes;
import io.infermesh.xds.testing.XdsClients;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Locality routing as a real proxyless client in one region sees it: a real control plane, real
 * backends in both private regions and the public pool, a real grpc-xds channel on
 * {@code xds:///core-inference}. One subclass per client region, each in its own JVM (grpc-xds
 * reads its bootstrap once per JVM).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class LocalityRoutingContract {

  private final String region;
  private final String otherRegion;
  private ControlPlane controlPlane;
  private final List<TestBackend> backends = new ArrayList<>();
  private ManagedChannel channel;

  LocalityRoutingContract(String region, String otherRegion) {
    this.region = region;
    this.otherRegion = otherRegion;
  }

  @BeforeAll
  void startMesh() throws Exception {
    backends.add(TestBackend.start("eu-1", EU, "a", Tier.PRIVATE, "v1"));
    backends.add(TestBackend.start("eu-2", EU, "b", Tier.PRIVATE, "v1"));
    backends.add(TestBackend.start("us-1", US, "a", Tier.PRIVATE, "v1"));
    backends.add(TestBackend.start("us-2", US, "a", Tier.PRIVATE, "v1"));
    backends.add(TestBackend.start("pub-1", PUBLIC, "a", Tier.PUBLIC, "v1"));
    controlPlane = ControlPlane.builder(TestMeshes.config(TestMeshes.policy(), allEndpoints())).start();
    XdsClients.installBootstrap(XdsClients.bootstrap(controlPlane.xdsPort(), "edge-" + region, region));
  }

  @AfterAll
  void stopMesh() {
    if (controlPlane != null) {
      controlPlane.close();
    }
    backends.forEach(TestBackend::close);
  }

  /**
   * Every test starts from the whole mesh and a fresh channel that already uses both local
   * backends (a channel that saw backends die keeps them in reconnect backoff).
   */
  @BeforeEach
  void restoreMesh() throws Exception {
    for (TestBackend b : backends) {
      b.revive();
    }
    controlPlane.staticEndpoints().replace(allEndpoints());
    channel = XdsClients.channel();
    Set<String> local = in(region).map(TestBackend::name).collect(Collectors.toSet());
    await().atMost(Duration.ofSeconds(10)).untilAsserted(
        () -> assertThat(XdsClients.spread(channel, 20, null).keySet()).isEqualTo(local));
  }

  @AfterEach
  void closeChannel() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private List<MeshEndpoint> allEndpoints() {
    return backends.stream().map(TestBackend::endpoint).toList();
  }

  private Set<String> regionsOf(Map<String, Integer> spread) {
    return spread.keySet().stream().map(this::regionOf).collect(Collectors.toSet());
  }

  private String regionOf(String backendName) {
    return backends.stream().filter(b -> b.name().equals(backendName)).findFirst().orElseThrow().endpoint().region();
  }

  private Stream<TestBackend> in(String r) {
    return backends.stream().filter(b -> b.endpoint().region().equals(r));
  }

  @Test
  void calls_allHealthy_stayInTheLocalRegionAndUseBothLocalBackends() {
    Map<String, Integer> spread = XdsClients.spread(channel, 200, null);
    assertThat(regionsOf(spread)).containsExactly(region);
    assertThat(spread).hasSize((int) in(region).count());
  }

  @Test
  void calls_localEndpointsRemovedFromDiscovery_moveToTheOtherPrivateRegionWithin2s() {
    long start = System.nanoTime();
    controlPlane.staticEndpoints().replace(
        backends.stream().filter(b -> !b.endpoint().region().equals(region)).map(TestBackend::endpoint).toList());
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
        .until(() -> otherRegion.equals(regionOfOrNull(XdsClients.tryCall(channel))));
    long movedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(regionsOf(XdsClients.spread(channel, 100, null))).containsExactly(otherRegion);
    System.out.printf("failover (%s, endpoints removed): %d ms%n", region, movedMillis);
  }

  @Test
  void calls_localEndpointsMarkedUnhealthy_moveToTheOtherPrivateRegionWithin2s() {
    controlPlane.staticEndpoints().replace(backends.stream().map(TestBackend::endpoint)
        .map(e -> e.region().equals(region) ? e.withHealth(EndpointHealth.UNHEALTHY) : e).toList());
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
        .until(() -> otherRegion.equals(regionOfOrNull(XdsClients.tryCall(channel))));
    assertThat(regionsOf(XdsClients.spread(channel, 100, null))).containsExactly(otherRegion);
  }

  @Test
  void calls_localBackendsCrashBeforeDiscoveryNotices_clientFailsOverWithin2s() {
    long start = System.nanoTime();
    in(region).forEach(TestBackend::kill);
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
        .until(() -> otherRegion.equals(regionOfOrNull(XdsClients.tryCall(channel))));
    long movedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(regionsOf(XdsClients.spread(channel, 100, null))).containsExactly(otherRegion);
    System.out.printf("failover (%s, backends killed): %d ms%n", region, movedMillis);
  }

  @Test
  void calls_allPrivateGone_goToThePublicPool() {
    controlPlane.staticEndpoints().replace(in(PUBLIC).map(TestBackend::endpoint).toList());
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
        .until(() -> PUBLIC.equals(regionOfOrNull(XdsClients.tryCall(channel))));
    assertThat(regionsOf(XdsClients.spread(channel, 50, null))).containsExactly(PUBLIC);
  }

  @Test
  void nodes_clientIsTrackedInItsRegionsGroupWithAcks() {
    NodeStatus node = controlPlane.nodes().nodes().stream()
        .filter(n -> n.nodeId().equals("edge-" + region)).findFirst().orElseThrow();
    assertThat(node.group()).isEqualTo("grpc/" + region);
    assertThat(node.types()).extracting(NodeStatus.TypeStatus::type)
        .contains("LISTENER", "ROUTE", "CLUSTER", "ENDPOINT");
    assertThat(node.types()).allSatisfy(t -> {
      assertThat(t.acks()).isPositive();
      assertThat(t.nacked()).isFalse();
      assertThat(t.ackedVersion()).isEqualTo(t.sentVersion());
    });
  }

  private String regionOfOrNull(String backend) {
    return backend == null ? null : regionOf(backend);
  }
}
