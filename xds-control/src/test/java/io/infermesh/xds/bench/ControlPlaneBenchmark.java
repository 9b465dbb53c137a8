package io.infermesh.xds.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.concurrent.ForkJoinPool;

/**
 * The control plane's numbers from issue 19 in one run: the full snapshot build for 1,000
 * services × 10 endpoints and 50 × 100 ({@link SnapshotBuildBenchmark}), the rebuild after a
 * change to one service, and the time from a discovery change to 100 grpc-xds clients' ACKs
 * ({@link ClientFanoutBenchmark}; the clients once in this JVM, once in a child JVM), with the
 * load average before and after (the machine may be
 * shared: wall-clock numbers stretch with load, the build's CPU time much less).
 *
 * <pre>
 * ./mvnw -q -o -pl xds-control -am test-compile
 * ./mvnw -q -o -pl xds-control dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp xds-control/target/test-classes:xds-control/target/classes:$(cat xds-control/target/cp.txt) \
 *     io.infermesh.xds.bench.ControlPlaneBenchmark [clients=100] [changes=5]
 * </pre>
 *
 * Not run by {@code verify}.
 */
public final class ControlPlaneBenchmark {

  private ControlPlaneBenchmark() {}

  public static void main(String[] args) throws Exception {
    int clients = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int changes = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    double loadBefore = os.getSystemLoadAverage();
    ForkJoinPool pool = new ForkJoinPool(os.getAvailableProcessors());
    SnapshotBuildBenchmark.Stats[] cold = SnapshotBuildBenchmark.runCold(1000, 10, 50, pool);
    SnapshotBuildBenchmark.Stats full = cold[0];
    pool.shutdown();
    SnapshotBuildBenchmark.Stats wide = SnapshotBuildBenchmark.run(50, 100, 50);
    SnapshotBuildBenchmark.Stats one = SnapshotBuildBenchmark.runIncremental(1000, 10, 50);
    ClientFanoutBenchmark.Stats inProcess = ClientFanoutBenchmark.run(clients, changes, false);
    ClientFanoutBenchmark.Stats child = ClientFanoutBenchmark.run(clients, changes, true);
    double loadAfter = os.getSystemLoadAverage();
    System.out.printf("%n| control plane (%d CPUs, load average %.2f before, %.2f after) | p50 | p99 | CPU p50 | goal |%n",
        os.getAvailableProcessors(), loadBefore, loadAfter);
    System.out.println("|---|---|---|---|---|");
    System.out.printf("| full build, 1,000 services x 10 endpoints (cold: a new builder) | %.1f ms | %.1f ms | %.1f ms"
        + " | <= 20 ms |%n", full.p50(), full.p99(), full.cpuP50());
    System.out.printf("| same, services built on %d threads (CPU: the process's) | %.1f ms | %.1f ms | %.1f ms | <= 20 ms |%n",
        pool.getParallelism(), cold[1].p50(), cold[1].p99(), cold[1].cpuP50());
    System.out.printf("| full build, 50 services x 100 endpoints (cold) | %.1f ms | %.1f ms | %.1f ms | |%n",
        wide.p50(), wide.p99(), wide.cpuP50());
    System.out.printf("| rebuild after one service changed (1,000 x 10; %.1f services rebuilt) | %.1f ms | %.1f ms"
        + " | %.1f ms | only what it touches |%n", one.servicesRebuilt(), one.p50(), one.p99(), one.cpuP50());
    System.out.printf("| build from unchanged inputs (1,000 x 10, warm: every service reused) | %.1f ms | | | |%n",
        one.unchangedP50());
    fanoutRow("this JVM", clients, changes, inProcess);
    fanoutRow("a child JVM", clients, changes, child);
  }

  private static void fanoutRow(String where, int clients, int changes, ClientFanoutBenchmark.Stats s) {
    System.out.printf("| discovery change -> %d grpc-xds clients in %s acked (%d changes; published p50 %.1f ms,"
        + " sent to all p50 %.1f ms) | %.1f ms | %.1f ms | | p99 <= 100 ms |%n", clients, where, changes,
        s.publishedP50(), s.sentP50(), s.p50(), s.p99());
  }
}
