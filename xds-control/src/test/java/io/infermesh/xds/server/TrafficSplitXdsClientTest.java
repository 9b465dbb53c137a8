package io.infermesh.xds.server;

import static io.infermesh.xds.testing.TestMeshes.EU;
import static io.infermesh.xds.testing.TestMeshes.PUBLIC;
import static io.infermesh.xds.testing.TestMeshes.US;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.infermesh.xds.snapshot.BurstPolicy;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshPolicy;
import io.infermesh.xds.snapshot.ServicePolicy;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.snapshot.VersionWeight;
import io.infermesh.xds.testing.TestBackend;
import io.infermesh.xds.testing.TestMeshes;
import io.infermesh.xds.testing.XdsClients;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Weighted traffic as a real proxyless client in eu-west sees it: burst to the public pool in
 * proportion to the overflow and back, a 10 % canary, and the version-pinning header. The policy
 * declares v1: 90, v2: 10; a canary with no endpoints gets no traffic, so the burst cases run
 * with v1 only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrafficSplitXdsClientTest {

  private static final int CALLS = 1_000;

  private ControlPlane controlPlane;
  private TestBackend eu1;
  private TestBackend eu2;
  private TestBackend us1;
  private TestBackend pub1;
  private TestBackend pub2;
  private TestBackend canary;
  private ManagedChannel channel;

  @BeforeAll
  void startMesh() throws Exception {
    eu1 = TestBackend.start("eu-1", EU, "a", Tier.PRIVATE, "v1");
    eu2 = TestBackend.start("eu-2", EU, "b", Tier.PRIVATE, "v1");
    us1 = TestBackend.start("us-1", US, "a", Tier.PRIVATE, "v1");
    pub1 = TestBackend.start("pub-1", PUBLIC, "a", Tier.PUBLIC, "v1");
    pub2 = TestBackend.start("pub-2", PUBLIC, "b", Tier.PUBLIC, "v1");
    canary = TestBackend.start("eu-canary", EU, "a", Tier.PRIVATE, "v2");
    // a 1 s hold gives the load model below time to report the effect of each change
    MeshPolicy policy = TestMeshes.policy()
        .withBurst(BurstPolicy.defaults().withMinHold(Duration.ofSeconds(1)))
        .withService(ServicePolicy.grpc("core-inference")
            .withVersions(List.of(new VersionWeight("v1", 90), new VersionWeight("v2", 10))));
    controlPlane = ControlPlane.builder(TestMeshes.config(policy, List.of(eu1.endpoint(), eu2.endpoint()))).start();
    XdsClients.installBootstrap(XdsClients.bootstrap(controlPlane.xdsPort(), "edge-split", EU));
    channel = XdsClients.channel();
  }

  @AfterAll
  void stopMesh() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    controlPlane.close();
    List.of(eu1, eu2, us1, pub1, pub2, canary).forEach(TestBackend::close);
  }

  @AfterEach
  void resetMesh() {
    if (loadModel != null) {
      loadModel.shutdownNow();
      loadModel = null;
    }
    controlPlane.staticEndpoints().replace(List.of(eu1.endpoint(), eu2.endpoint()));
  }

  private ScheduledExecutorService loadModel;
  private volatile double demand;

  /**
   * Closes the loop the way core nodes do: every 50 ms the eu-west private endpoints report
   * utilization = demand x (1 - the burst share in force), i.e. traffic sent to the public pool
   * no longer loads the private tier.
   */
  private void runLoadModel(double initialDemand) {
    demand = initialDemand;
    loadModel = Executors.newSingleThreadScheduledExecutor();
    loadModel.scheduleWithFixedDelay(() -> {
      double share = controlPlane.publisher().shares().share("core-inference", EU);
      double utilization = Math.round(demand * (1 - share) * 1000) / 1000.0;
      List<MeshEndpoint> next = burstMesh(utilization);
      if (!next.equals(controlPlane.staticEndpoints().endpoints())) {
        controlPlane.staticEndpoints().replace(next);
      }
    }, 0, 50, TimeUnit.MILLISECONDS);
  }

  private static double share(Map<String, Integer> spread, String... backends) {
    int total = spread.values().stream().mapToInt(Integer::intValue).sum();
    int hits = 0;
    for (String b : backends) {
      hits += spread.getOrDefault(b, 0);
    }
    return (double) hits / total;
  }

  private List<MeshEndpoint> burstMesh(double euUtilization) {
    List<MeshEndpoint> eps = new ArrayList<>();
    eps.add(eu1.endpoint().withUtilization(euUtilization));
    eps.add(eu2.endpoint().withUtilization(euUtilization));
    eps.add(us1.endpoint());
    eps.add(pub1.endpoint());
    eps.add(pub2.endpoint());
    return eps;
  }

  @Test
  void burst_privateTierOverHighWatermark_sendsTheOverflowShareToPublicWithin5Percent() {
    // eu-west private demand 95 % against a high watermark of 80 %: 1 - 0.80 / 0.95 -> 16 % to public
    runLoadModel(0.95);
    await().atMost(Duration.ofSeconds(30))
        .until(() -> controlPlane.publisher().shares().share("core-inference", EU) == 0.16);
    // both public localities must be connected before the split is measurable
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(XdsClients.spread(channel, 100, null)).containsKeys("pub-1", "pub-2", "eu-1", "eu-2"));

    Map<String, Integer> spread = XdsClients.spread(channel, CALLS, null);

    assertThat(controlPlane.publisher().shares().share("core-inference", EU)).as("held, no flapping").isEqualTo(0.16);
    System.out.println("burst spread over " + CALLS + " calls (intended 84 % eu-west, 16 % public): " + spread);
    assertThat(share(spread, "pub-1", "pub-2")).isCloseTo(0.16, within(0.05));
    assertThat(share(spread, "eu-1", "eu-2")).isCloseTo(0.84, within(0.05));
    assertThat(spread).doesNotContainKey("us-1"); // other private region stays a failover target
  }

  @Test
  void burst_demandFallsUnderLowWatermark_trafficReturnsToPrivate() {
    runLoadModel(0.95);
    await().atMost(Duration.ofSeconds(30))
        .until(() -> controlPlane.publisher().shares().share("core-inference", EU) > 0);
    // demand drops to 30 %: under the low watermark (60 %) -> everything returns, and stays
    demand = 0.30;
    await().atMost(Duration.ofSeconds(30))
        .until(() -> controlPlane.publisher().shares().share("core-inference", EU) == 0);
    await().atMost(Duration.ofSeconds(2)).untilAsserted(() ->
        assertThat(XdsClients.spread(channel, 200, null)).containsOnlyKeys("eu-1", "eu-2"));
    assertThat(controlPlane.publisher().shares().share("core-inference", EU)).isZero();
  }

  @Test
  void canary_tenPercentWeight_getsTenPercentWithin3Percent() {
    controlPlane.staticEndpoints().replace(List.of(eu1.endpoint(), eu2.endpoint(), canary.endpoint()));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(XdsClients.spread(channel, 100, null)).containsKey("eu-canary"));

    Map<String, Integer> spread = XdsClients.spread(channel, CALLS, null);

    System.out.println("canary spread over " + CALLS + " calls (intended v1 90 %, v2 10 %): " + spread);
    assertThat(share(spread, "eu-canary")).isCloseTo(0.10, within(0.03));
  }

  @Test
  void pinHeader_alwaysReachesItsVersion() {
    controlPlane.staticEndpoints().replace(List.of(eu1.endpoint(), eu2.endpoint(), canary.endpoint()));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(XdsClients.spread(channel, 100, null)).containsKey("eu-canary"));

    assertThat(XdsClients.spread(channel, 300, "v2")).containsOnlyKeys("eu-canary");
    assertThat(XdsClients.spread(channel, 300, "v1")).containsOnlyKeys("eu-1", "eu-2");
    // an unknown version falls through to the weighted default
    assertThat(XdsClients.spread(channel, 100, "v9")).containsKeys("eu-1", "eu-2");
  }

  @Test
  void canary_withoutHealthyEndpoints_getsNoTraffic() {
    controlPlane.staticEndpoints().replace(List.of(eu1.endpoint(), eu2.endpoint(), canary.endpoint()));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(XdsClients.spread(channel, 100, null)).containsKey("eu-canary"));
    controlPlane.staticEndpoints().replace(List.of(eu1.endpoint(), eu2.endpoint()));
    await().atMost(Duration.ofSeconds(2)).untilAsserted(() ->
        assertThat(XdsClients.spread(channel, 300, null)).containsOnlyKeys("eu-1", "eu-2"));
  }
}
