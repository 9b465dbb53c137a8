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
 * (the client has applied them), p50/p99 over several changes; and when the control plane had
 * sent the change to every client, which splits the time into the server's share and the clients'. Afterwards every client is
 * checked to route to the other region. Each client is a separate grpc-xds XdsClient with its own
 * node and ADS stream (one URI scheme each, since grpc-xds shares its client per target).
 *
 * <pre>java -cp ... io.infermesh.xds.bench.ClientFanoutBenchmark [clients=100] [rounds=5]</pre>
 *
 * Not run by {@code verify}.
 */
public final class ClientFanoutBenchmark {

  private ClientFanoutBenchmark() {}

  /** Over every client and change: p50 and p99 to the ACK, and the p50 until the change was published, in ms. */
  record Stats(double p50, double p99, double publishedP50, double sentP50) {}

  public static void main(String[] args) throws Exception {
    run(args.length > 0 ? Integer.parseInt(args[0]) : 100, args.length > 1 ? Integer.parseInt(args[1]) : 5);
  }

  static Stats run(int n, int rounds) throws Exception {
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
      long[] published = new long[rounds];
      long[] sent = new long[rounds];
      for (int round = 0; round < rounds; round++) {
        boolean removeEu = round % 2 == 0;
        Instant t0 = Instant.now();
        plane.staticEndpoints().replace(removeEu ? List.of(us.endpoint()) : List.of(eu.endpoint(), us.endpoint()));
        String version = awaitVersion(plane);
        published[round] = Duration.between(t0, Instant.now()).toNanos(); // the control plane's share
        double publishedMs = published[round] / 1e6;
        sent[round] = awaitSent(plane, n, version, t0);
        long[] latencies = awaitAcks(plane, n, version, t0);
        Arrays.stream(latencies).forEach(all::add);
        Arrays.sort(latencies);
        System.out.printf("round %d: published after %.1f ms, sent to every client after %.1f ms; %d clients acked"
            + " the change: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n", round, publishedMs, sent[round] / 1e6, n,
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
      Stats stats = new Stats(sorted[sorted.length / 2] / 1e3, sorted[(int) (sorted.length * 0.99)] / 1e3,
          SnapshotBuildBenchmark.p(published, 0.5), SnapshotBuildBenchmark.p(sent, 0.5));
      System.out.printf("discovery change -> %d grpc-xds clients applied it (%d changes): p50 %.1f ms, p99 %.1f ms%n",
          n, rounds, stats.p50(), stats.p99());
      for (ManagedChannel c : channels) {
        c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      return stats;
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

  /**
   * Nanoseconds from t0 until the control plane had sent {@code version} to every node (polled, so
   * a few ms late): the server's share of the propagation, the rest is the clients'.
   */
  private static long awaitSent(ControlPlane plane, int n, String version, Instant t0) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      long sent = plane.nodes().nodes().stream()
          .flatMap(node -> node.types().stream())
          .filter(t -> t.type().equals("ENDPOINT") && t.sentVersion().equals(version))
          .count();
      if (sent >= n) {
        return Duration.between(t0, Instant.now()).toNanos();
      }
      Thread.sleep(1);
    }
    throw new AssertionError("not every client was sent " + version);
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
