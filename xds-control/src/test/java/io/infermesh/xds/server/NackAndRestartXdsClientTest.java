package io.infermesh.xds.server;

import static io.infermesh.xds.testing.TestMeshes.EU;
import static io.infermesh.xds.testing.TestMeshes.US;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.grpc.ManagedChannel;
import io.infermesh.xds.config.MeshConfig;
import io.infermesh.xds.snapshot.DataPlane;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.snapshot.XdsGroup;
import io.infermesh.xds.testing.TestBackend;
import io.infermesh.xds.testing.TestMeshes;
import io.infermesh.xds.testing.XdsClients;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What a real proxyless client does when the control plane misbehaves or goes away: it rejects
 * an invalid snapshot (the NACK is reported on the admin endpoint, the rejected version is not
 * resent in a loop, and traffic keeps flowing on the last good configuration), and it keeps
 * serving through a control-plane restart.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NackAndRestartXdsClientTest {

  private static final String NODE = "edge-nack";

  private MeshConfig config;
  private ControlPlane controlPlane;
  private final List<TestBackend> backends = new ArrayList<>();
  private ManagedChannel channel;

  @BeforeAll
  void startMesh() throws Exception {
    backends.add(TestBackend.start("eu-1", EU, "a", Tier.PRIVATE, "v1"));
    backends.add(TestBackend.start("us-1", US, "a", Tier.PRIVATE, "v1"));
    config = TestMeshes.config(TestMeshes.policy(), backends.stream().map(TestBackend::endpoint).toList());
    controlPlane = ControlPlane.builder(config).start();
    XdsClients.installBootstrap(XdsClients.bootstrap(controlPlane.xdsPort(), NODE, EU));
    channel = XdsClients.channel();
    await().atMost(Duration.ofSeconds(10)).until(() -> "eu-1".equals(XdsClients.tryCall(channel)));
  }

  @AfterAll
  void stopMesh() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    controlPlane.close();
    backends.forEach(TestBackend::close);
  }

  private NodeStatus node() {
    return controlPlane.nodes().nodes().stream().filter(n -> n.nodeId().equals(NODE)).findFirst().orElseThrow();
  }

  /** The current snapshot with EDS made invalid for gRPC: every locality at priority 1 (sparse). */
  private static Snapshot sparsePriorities(Snapshot good) {
    List<ClusterLoadAssignment> bad = new ArrayList<>();
    for (ClusterLoadAssignment cla : good.endpoints().resources().values()) {
      ClusterLoadAssignment.Builder b = cla.toBuilder().clearEndpoints();
      for (LocalityLbEndpoints l : cla.getEndpointsList()) {
        b.addEndpoints(l.toBuilder().setPriority(l.getPriority() + 1));
      }
      bad.add(b.build());
    }
    return Snapshot.create(
        good.clusters().resources().values(), good.clusters().version(),
        bad, "rejected-1",
        good.listeners().resources().values(), good.listeners().version(),
        good.routes().resources().values(), good.routes().version(),
        good.secrets().resources().values(), good.secrets().version());
  }

  @Test
  void nack_invalidSnapshot_isReportedNotResentAndTrafficKeepsTheLastGoodConfig() throws Exception {
    XdsGroup group = new XdsGroup(DataPlane.GRPC, EU);
    Snapshot good = controlPlane.publisher().current().snapshot(group).orElseThrow();
    String goodEds = good.endpoints().version();
    double nacksBefore = controlPlane.meters().counter("infermesh.xds.nacks", "type", "ENDPOINT").count();

    controlPlane.cache().setSnapshot(group, sparsePriorities(good));

    await().atMost(Duration.ofSeconds(5)).until(() -> node().type("ENDPOINT").nacked());
    NodeStatus.TypeStatus eds = node().type("ENDPOINT");
    assertThat(eds.lastNack().version()).isEqualTo("rejected-1");
    assertThat(eds.lastNack().message()).containsIgnoringCase("sparse priorities");
    assertThat(eds.ackedVersion()).isEqualTo(goodEds);

    // the client keeps routing on its last good endpoints
    assertThat(XdsClients.spread(channel, 50, null)).containsOnlyKeys("eu-1");

    // the admin endpoint reports it
    JsonNode nodes = new ObjectMapper().readTree(HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + controlPlane.adminPort() + "/nodes")).build(),
        HttpResponse.BodyHandlers.ofString()).body());
    JsonNode reported = null;
    for (JsonNode n : nodes) {
      if (n.get("nodeId").asText().equals(NODE)) {
        for (JsonNode t : n.get("types")) {
          if (t.get("type").asText().equals("ENDPOINT")) {
            reported = t;
          }
        }
      }
    }
    assertThat(reported).isNotNull();
    assertThat(reported.get("nacked").asBoolean()).isTrue();
    assertThat(reported.get("lastNack").get("version").asText()).isEqualTo("rejected-1");
    assertThat(reported.get("lastNack").get("message").asText()).containsIgnoringCase("sparse");
    String metrics = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + controlPlane.adminPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    assertThat(metrics).contains("infermesh_xds_nacks_total{type=\"ENDPOINT\"}");

    // a good snapshot afterwards is accepted again
    controlPlane.cache().setSnapshot(group, good);
    controlPlane.staticEndpoints().replace(List.of(backends.get(1).endpoint()));
    await().atMost(Duration.ofSeconds(5)).until(() -> !node().type("ENDPOINT").nacked());
    await().atMost(Duration.ofSeconds(2)).until(() -> "us-1".equals(XdsClients.tryCall(channel)));
    controlPlane.staticEndpoints().replace(backends.stream().map(TestBackend::endpoint).toList());
    await().atMost(Duration.ofSeconds(2)).until(() -> "eu-1".equals(XdsClients.tryCall(channel)));
    // and all the while the rejected version was not pushed again and again
    double nacks = controlPlane.meters().counter("infermesh.xds.nacks", "type", "ENDPOINT").count() - nacksBefore;
    assertThat(nacks).isBetween(1.0, 2.0);
  }

  @Test
  void restart_controlPlaneGoesAwayAndComesBack_trafficIsNotInterrupted() throws Exception {
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger ok = new AtomicInteger();
    Map<String, Integer> failures = new ConcurrentHashMap<>();
    AtomicInteger okWhileDown = new AtomicInteger();
    AtomicBoolean down = new AtomicBoolean();
    Thread caller = new Thread(() -> {
      while (running.get()) {
        try {
          XdsClients.call(channel, null);
          ok.incrementAndGet();
          if (down.get()) {
            okWhileDown.incrementAndGet();
          }
        } catch (RuntimeException e) {
          failures.merge(String.valueOf(e.getMessage()), 1, Integer::sum);
        }
      }
    }, "steady-caller");
    caller.start();
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> ok.get() >= 5);
      int xdsPort = controlPlane.xdsPort();
      down.set(true);
      controlPlane.close();
      // clients run on their cached configuration
      await().atMost(Duration.ofSeconds(10)).until(() -> okWhileDown.get() >= 20);
      controlPlane = ControlPlane.builder(config.withControl(config.control().withXdsPort(xdsPort))).start();
      down.set(false);
      // the client reconnects (its backoff is short on a fresh failure) and acks the same versions
      await().atMost(Duration.ofSeconds(20)).until(() -> controlPlane.nodes().nodes().stream()
          .anyMatch(n -> n.nodeId().equals(NODE) && n.types().stream().anyMatch(t -> t.acks() > 0)));
      int okAfterRestart = ok.get();
      await().atMost(Duration.ofSeconds(10)).until(() -> ok.get() >= okAfterRestart + 5);
    } finally {
      running.set(false);
      caller.join(10_000);
    }
    System.out.printf("restart: %d calls ok (%d while the control plane was down), failures %s%n",
        ok.get(), okWhileDown.get(), failures);
    assertThat(failures).isEmpty();
    assertThat(okWhileDown.get()).isPositive();
    // and the new control plane steers it: removing eu-west moves traffic to us-east
    controlPlane.staticEndpoints().replace(List.of(backends.get(1).endpoint()));
    await().atMost(Duration.ofSeconds(2)).until(() -> "us-1".equals(XdsClients.tryCall(channel)));
    controlPlane.staticEndpoints().replace(backends.stream().map(TestBackend::endpoint).toList());
    await().atMost(Duration.ofSeconds(2)).until(() -> "eu-1".equals(XdsClients.tryCall(channel)));
  }
}
