package io.infermesh.xds.server;

import static io.infermesh.xds.testing.TestMeshes.EU;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.xds.canary.RolloutPlan;
import io.infermesh.xds.canary.RolloutStatus;
import io.infermesh.xds.canary.RolloutStatus.Phase;
import io.infermesh.xds.snapshot.MeshPolicy;
import io.infermesh.xds.snapshot.ServicePolicy;
import io.infermesh.xds.snapshot.VersionWeight;
import io.infermesh.xds.testing.MeteredBackend;
import io.infermesh.xds.testing.MeteredBackend.Behaviour;
import io.infermesh.xds.testing.TestMeshes;
import io.infermesh.xds.testing.XdsClients;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Canary rollouts end to end: a control plane with three rollouts, real grpc-xds clients sending
 * traffic to each service, and stand-in core nodes ({@link MeteredBackend}: real gRPC, real
 * Micrometer {@code /metrics} over HTTP) that the control plane scrapes. A failing canary and a
 * slow one are rolled back by the control plane on their own, a healthy one reaches 100 %; each
 * outcome is checked where a client sees it (which node answers), on the admin HTTP {@code
 * /canary} and in the {@code infermesh.canary.*} metrics.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CanaryRolloutXdsClientTest {

  private static final String FAILING = "core-inference";
  private static final String SLOW = "core-slow";
  private static final String HEALTHY = "core-next";
  private static final int LOAD_THREADS = 4;

  private final List<MeteredBackend> backends = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<Thread> load = new ArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  /** service -> who answered its last 100 calls (a node's name, or "failed"). */
  private final Map<String, ArrayDeque<String>> served = new ConcurrentHashMap<>();
  private ControlPlane controlPlane;
  private long loadStarted;

  @BeforeAll
  void startMesh() throws Exception {
    MeshPolicy policy = TestMeshes.policy();
    List<RolloutPlan> plans = new ArrayList<>();
    List<io.infermesh.xds.snapshot.MeshEndpoint> endpoints = new ArrayList<>();
    for (String[] s : new String[][] {{FAILING, "FAILING"}, {SLOW, "SLOW"}, {HEALTHY, "HEALTHY"}}) {
      String service = s[0];
      policy = policy.withService(ServicePolicy.grpc(service));
      MeteredBackend stable = MeteredBackend.start(service, service + "-v1", EU, "v1", Behaviour.HEALTHY);
      MeteredBackend canary = MeteredBackend.start(service, service + "-v2", EU, "v2", Behaviour.valueOf(s[1]));
      backends.add(stable);
      backends.add(canary);
      endpoints.add(stable.endpoint());
      endpoints.add(canary.endpoint());
      plans.add(RolloutPlan.of(service, "v1", "v2")
          .withSteps(List.of(10, 50, 100), Duration.ofMillis(300), 20)
          // far apart, so that a healthy node's scheduling hiccups on a loaded 2-core box are no breach
          .withSlos(0.05, Duration.ofMillis(500))
          .withInterval(Duration.ofMillis(100)));
    }
    controlPlane = ControlPlane.builder(TestMeshes.config(policy, endpoints).withRollouts(plans)).start();
    XdsClients.installBootstrap(XdsClients.bootstrap(controlPlane.xdsPort(), "edge-canary", EU));
    loadStarted = System.nanoTime();
    for (String service : List.of(FAILING, SLOW, HEALTHY)) {
      ManagedChannel channel = Grpc.newChannelBuilder("xds:///" + service, InsecureChannelCredentials.create()).build();
      channels.add(channel);
      served.put(service, new ArrayDeque<>());
      for (int i = 0; i < LOAD_THREADS; i++) { // several, so that a slow canary's calls do not stall the others
        Thread t = new Thread(() -> drive(service, channel), "load-" + service + "-" + i);
        t.setDaemon(true);
        t.start();
        load.add(t);
      }
    }
  }

  @AfterAll
  void stopMesh() throws InterruptedException {
    running.set(false);
    for (Thread t : load) {
      t.join(10_000);
    }
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    controlPlane.close();
    backends.forEach(MeteredBackend::close);
  }

  /** Calls {@code service} one after another; remembers who answered. */
  private void drive(String service, ManagedChannel channel) {
    ArrayDeque<String> recent = served.get(service);
    int n = 0;
    while (running.get()) {
      String node;
      try {
        Iterator<GenerateChunk> chunks = InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
            .generate(GenerateRequest.newBuilder().setRequestId("load-" + n++).setPrompt("hi").build());
        node = chunks.next().getServedBy().getNodeId();
        chunks.forEachRemaining(c -> { });
      } catch (StatusRuntimeException e) {
        node = "failed";
      }
      synchronized (recent) {
        recent.addLast(node);
        if (recent.size() > 100) {
          recent.removeFirst();
        }
      }
    }
  }

  /** How many of {@code service}'s last 100 calls each node answered. */
  private Map<String, Integer> lastHundred(String service) {
    ArrayDeque<String> recent = served.get(service);
    Map<String, Integer> counts = new TreeMap<>();
    synchronized (recent) {
      recent.forEach(r -> counts.merge(r, 1, Integer::sum));
    }
    return counts;
  }

  /** Prints how long the rollout of {@code service} took to reach its end, and the last step's figures. */
  private void report(String service) {
    RolloutStatus s = status(service);
    System.out.printf("CANARY %-14s %-11s %.1f s after traffic started; last window %d requests, %d errors: %s%n",
        service, s.phase(), (System.nanoTime() - loadStarted) / 1e9, s.window().requests(), s.window().errors(),
        s.reason());
  }

  private RolloutStatus status(String service) {
    return controlPlane.rollouts().get(service);
  }

  private String admin(String path) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + controlPlane.adminPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  /** Waits until the last 100 calls to {@code service} all came from {@code node}. */
  private void awaitOnly(String service, String node) {
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(lastHundred(service)).containsOnlyKeys(node).containsEntry(node, 100));
  }

  @Test
  void failingCanary_isRolledBackToAllStable_visibleToClientsAdminAndMetrics() throws Exception {
    await().atMost(Duration.ofSeconds(30)).until(() -> status(FAILING).phase() == Phase.ROLLED_BACK);
    report(FAILING);

    RolloutStatus s = status(FAILING);
    assertThat(s.weights()).containsExactly(new VersionWeight("v1", 100), new VersionWeight("v2", 0));
    assertThat(s.reason()).startsWith("rolled back at 10 %: error rate 1.0000 over");
    awaitOnly(FAILING, FAILING + "-v1");
    assertThat(admin("/canary")).contains("\"phase\" : \"rolled_back\"").contains("error rate 1.0000");
    assertThat(admin("/metrics"))
        .contains("infermesh_canary_phase{phase=\"rolled_back\",service=\"core-inference\"} 1.0")
        .contains("infermesh_canary_rollbacks_total{service=\"core-inference\"} 1.0")
        .contains("infermesh_canary_weight{service=\"core-inference\",version=\"v2\"} 0.0");
  }

  @Test
  void slowCanary_isRolledBackOnTtftP99() {
    await().atMost(Duration.ofSeconds(40)).until(() -> status(SLOW).phase() == Phase.ROLLED_BACK);
    report(SLOW);

    assertThat(status(SLOW).reason()).contains("TTFT p99").contains("> max_ttft_p99 0.5s");
    awaitOnly(SLOW, SLOW + "-v1");
  }

  @Test
  void healthyCanary_reachesAllTraffic() throws Exception {
    await().atMost(Duration.ofSeconds(40)).until(() -> status(HEALTHY).phase() == Phase.COMPLETED);
    report(HEALTHY);

    assertThat(status(HEALTHY).weights()).containsExactly(new VersionWeight("v1", 0), new VersionWeight("v2", 100));
    awaitOnly(HEALTHY, HEALTHY + "-v2");
    assertThat(admin("/canary")).contains("\"phase\" : \"completed\"");
    assertThat(admin("/metrics")).contains("infermesh_canary_weight{service=\"core-next\",version=\"v2\"} 100.0");
  }
}
