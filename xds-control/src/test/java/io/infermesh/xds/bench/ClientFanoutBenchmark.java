package io.infermesh.xds.bench;

import io.infermesh.xds.server.ControlPlane;
import io.infermesh.xds.server.NodeStatus;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.testing.TestBackend;
import io.infermesh.xds.testing.TestMeshes;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Time from a discovery change (eu-west endpoints removed) to each of N real grpc-xds clients
 * acting on it: the moment the control plane receives the client's ACK of the new endpoints
 * (the client has applied them), p50/p99 over several changes; and when the control plane had
 * sent the change to every client, which splits the time into the server's share and the clients'.
 * Afterwards every client is checked to route to the other region. The clients ({@link
 * FanoutClients}) run in this JVM or in a child JVM ({@code child}), so the server's share can be
 * told apart from 100 xDS clients applying the change beside it in one heap.
 *
 * <pre>java -cp ... io.infermesh.xds.bench.ClientFanoutBenchmark [clients=100] [rounds=5] [in|child]</pre>
 *
 * Not run by {@code verify}.
 */
public final class ClientFanoutBenchmark {

  private ClientFanoutBenchmark() {}

  /** Over every client and change: p50 and p99 to the ACK, and the p50s until published and until sent to all, in ms. */
  record Stats(double p50, double p99, double publishedP50, double sentP50) {}

  /** The clients, wherever they run. */
  private interface Fleet extends AutoCloseable {
    /** Null when every client's next call is served by {@code expected}, else what went wrong. */
    String check(String expected) throws Exception;
  }

  public static void main(String[] args) throws Exception {
    run(args.length > 0 ? Integer.parseInt(args[0]) : 100, args.length > 1 ? Integer.parseInt(args[1]) : 5,
        args.length > 2 && args[2].equals("child"));
  }

  static Stats run(int n, int rounds, boolean childJvm) throws Exception {
    TestBackend eu = TestBackend.start("eu-1", TestMeshes.EU, "a", Tier.PRIVATE, "v1");
    TestBackend us = TestBackend.start("us-1", TestMeshes.US, "a", Tier.PRIVATE, "v1");
    try (ControlPlane plane = ControlPlane.builder(TestMeshes.config(TestMeshes.policy(),
        List.of(eu.endpoint(), us.endpoint()))).start();
        Fleet clients = childJvm ? child(plane.xdsPort(), n) : inProcess(plane.xdsPort(), n)) {
      String where = childJvm ? "child JVM" : "this JVM";
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
        System.out.printf("clients in %s, round %d: published after %.1f ms, sent to every client after %.1f ms;"
            + " %d clients acked the change: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n", where, round, publishedMs,
            sent[round] / 1e6, n, latencies[n / 2] / 1e3, latencies[(int) (n * 0.99)] / 1e3, latencies[n - 1] / 1e3);
        Thread.sleep(200);
        String failure = clients.check(removeEu ? "us-1" : "eu-1");
        if (failure != null) {
          throw new AssertionError(failure);
        }
      }
      long[] sorted = all.stream().mapToLong(Long::longValue).sorted().toArray();
      Stats stats = new Stats(sorted[sorted.length / 2] / 1e3, sorted[(int) (sorted.length * 0.99)] / 1e3,
          SnapshotBuildBenchmark.p(published, 0.5), SnapshotBuildBenchmark.p(sent, 0.5));
      System.out.printf("discovery change -> %d grpc-xds clients in %s applied it (%d changes): p50 %.1f ms,"
          + " p99 %.1f ms%n", n, where, rounds, stats.p50(), stats.p99());
      return stats;
    } finally {
      eu.close();
      us.close();
    }
  }

  private static Fleet inProcess(int xdsPort, int n) throws Exception {
    FanoutClients clients = new FanoutClients(xdsPort, n, TestMeshes.EU);
    return new Fleet() {
      @Override
      public String check(String expected) {
        return clients.check(expected);
      }

      @Override
      public void close() throws InterruptedException {
        clients.close();
      }
    };
  }

  /** The clients in a child JVM on this classpath ({@link FanoutClients#main}); its log goes to a temp file. */
  private static Fleet child(int xdsPort, int n) throws Exception {
    Path log = Files.createTempFile("fanout-clients", ".log");
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), FanoutClients.class.getName(),
        Integer.toString(xdsPort), Integer.toString(n), TestMeshes.EU)
        .redirectError(log.toFile())
        .start();
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    Writer in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Fleet fleet = new Fleet() {
      @Override
      public String check(String expected) throws IOException {
        in.write("CHECK " + expected + "\n");
        in.flush();
        String answer = out.readLine();
        return "OK".equals(answer) ? null : "clients in the child JVM: " + answer + " (log: " + log + ")";
      }

      @Override
      public void close() throws InterruptedException {
        try {
          in.close();
        } catch (IOException e) {
          // it has gone already
        }
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      }
    };
    String ready = out.readLine();
    if (!"READY".equals(ready)) {
      fleet.close();
      throw new IllegalStateException("the clients' JVM did not start: " + ready + " (log: " + log + ")");
    }
    return fleet;
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
