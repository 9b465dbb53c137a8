package io.infermesh.xds.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.xds.XdsNameResolverProvider;
import io.infermesh.xds.server.ControlPlane;
import io.infermesh.xds.server.NodeStatus;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.testing.TestBackend;
import io.infermesh.xds.testing.TestMeshes;
import io.infermesh.xds.testing.XdsClients;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Time from a discovery change (eu-west endpoints removed) to each of N real grpc-xds clients
 * acting on it: the moment the control plane receives the client's ACK of the new endpoints
 * (the client has applied them), p50/p99 over several changes. Afterwards every client is
 * checked to route to the other region. Each client is a separate grpc-xds XdsClient with its own
 * node and ADS stream (one URI scheme each, since grpc-xds shares its client per target).
 *
 * <pre>java -cp ... io.infermesh.xds.bench.ClientFanoutBenchmark [clients=100] [rounds=5]</pre>
 *
 * Not run by {@code verify}.
 */
public final class ClientFanoutBenchmark {

  private ClientFanoutBenchmark() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    TestBackend eu = TestBackend.start("eu-1", TestMeshes.EU, "a", Tier.PRIVATE, "v1");
    TestBackend us = TestBackend.start("us-1", TestMeshes.US, "a", Tier.PRIVATE, "v1");
    try (ControlPlane plane = ControlPlane.builder(TestMeshes.config(TestMeshes.policy(),
        List.of(eu.endpoint(), us.endpoint()))).start()) {
      ObjectMapper json = new ObjectMapper();
      List<ManagedChannel> channels = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String scheme = "xdsbench" + i;
        @SuppressWarnings("unchecked")
        Map<String, ?> bootstrap = json.readValue(XdsClients.bootstrap(plane.xdsPort(), "bench-" + i, TestMeshes.EU), Map.class);
        NameResolverRegistry.getDefaultRegistry().register(XdsNameResolverProvider.createForTest(scheme, bootstrap));
        channels.add(Grpc.newChannelBuilder(scheme + ":///core-inference", InsecureChannelCredentials.create()).build());
      }
      for (ManagedChannel c : channels) {
        XdsClients.call(c, null); // connect, resolve, warm
      }
      List<Long> all = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        boolean removeEu = round % 2 == 0;
        Instant t0 = Instant.now();
        plane.staticEndpoints().replace(removeEu ? List.of(us.endpoint()) : List.of(eu.endpoint(), us.endpoint()));
        String version = awaitVersion(plane);
        double publishedMs = Duration.between(t0, Instant.now()).toNanos() / 1e6; // the control plane's share
        long[] latencies = awaitAcks(plane, n, version, t0);
        Arrays.stream(latencies).forEach(all::add);
        Arrays.sort(latencies);
        System.out.printf("round %d: published after %.1f ms; %d clients acked the change: p50 %.1f ms, p99 %.1f ms,"
            + " max %.1f ms%n", round, publishedMs, n,
            latencies[n / 2] / 1e3, latencies[(int) (n * 0.99)] / 1e3, latencies[n - 1] / 1e3);
        String expected = removeEu ? "us-1" : "eu-1";
        Thread.sleep(200);
        for (ManagedChannel c : channels) {
          String served = XdsClients.call(c, null);
          if (!served.equals(expected)) {
            throw new AssertionError("a client still routes to " + served + " after acking");
          }
        }
      }
      long[] sorted = all.stream().mapToLong(Long::longValue).sorted().toArray();
      System.out.printf("discovery change -> %d grpc-xds clients applied it (%d changes): p50 %.1f ms, p99 %.1f ms%n",
          n, rounds, sorted[sorted.length / 2] / 1e3, sorted[(int) (sorted.length * 0.99)] / 1e3);
      for (ManagedChannel c : channels) {
        c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      eu.close();
      us.close();
    }
  }

  private static String awaitVersion(ControlPlane plane) throws InterruptedException {
    String before = null;
    for (int i = 0; i < 1000; i++) {
      var snap = plane.publisher().current();
      if (snap != null) {
        String v = snap.get(io.infermesh.xds.snapshot.DataPlane.GRPC, TestMeshes.EU).endpoints().version();
        if (before == null) {
          before = v;
        }
        if (plane.publisher().state() != null && !v.equals(before)) {
          return v;
        }
      }
      Thread.sleep(1);
    }
    return plane.publisher().current().get(io.infermesh.xds.snapshot.DataPlane.GRPC, TestMeshes.EU).endpoints().version();
  }

  /** Microseconds from t0 to each node's ACK of {@code version}. */
  private static long[] awaitAcks(ControlPlane plane, int n, String version, Instant t0) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      List<NodeStatus> nodes = plane.nodes().nodes();
      long[] out = nodes.stream()
          .map(node -> node.types().stream().filter(t -> t.type().equals("ENDPOINT")).findFirst().orElse(null))
          .filter(t -> t != null && t.ackedVersion().equals(version) && t.ackedAt() != null)
          .mapToLong(t -> Duration.between(t0, t.ackedAt()).toNanos() / 1_000)
          .toArray();
      if (out.length >= n) {
        return out;
      }
      Thread.sleep(5);
    }
    throw new AssertionError("not every client acked " + version);
  }
}
