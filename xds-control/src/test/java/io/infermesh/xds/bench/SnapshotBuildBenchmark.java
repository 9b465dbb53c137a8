package io.infermesh.xds.bench;

import com.sun.management.OperatingSystemMXBean;
import io.infermesh.xds.snapshot.BurstShares;
import io.infermesh.xds.snapshot.EndpointHealth;
import io.infermesh.xds.snapshot.IncrementalSnapshotBuilder;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshPolicy;
import io.infermesh.xds.snapshot.MeshSnapshotBuilder;
import io.infermesh.xds.snapshot.MeshState;
import io.infermesh.xds.snapshot.RegionPolicy;
import io.infermesh.xds.snapshot.SecretMaterial;
import io.infermesh.xds.snapshot.ServicePolicy;
import io.infermesh.xds.snapshot.Tier;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ForkJoinPool;

/**
 * Snapshot build time (every group of the policy: Envoy and gRPC × 3 regions + unlocated = 8
 * snapshots, each with CDS, EDS ranked for its region, LDS, RDS and content hashes) for
 * S services × E endpoints. Each service gets two clusters (all versions, and v1).
 *
 * <p>Three measures: a full build from nothing ({@link MeshSnapshotBuilder#build}); the
 * publisher's rebuild after one service changed (an endpoint's health flips, a different service
 * each time) with an {@link IncrementalSnapshotBuilder}, with how many services it rebuilt; and
 * its rebuild when nothing changed. Argument {@code full} runs only the first (it also runs
 * against builds that predate the incremental builder, for a side-by-side baseline). Besides
 * wall-clock p50/p99 each line gives the p50 of the building thread's CPU time, which a shared
 * machine's load stretches much less.
 *
 * <pre>
 * ./mvnw -q -o -pl xds-control test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp xds-control/target/test-classes:xds-control/target/classes:$(cat xds-control/target/cp.txt) \
 *     io.infermesh.xds.bench.SnapshotBuildBenchmark
 * </pre>
 *
 * Not run by {@code verify}.
 */
public final class SnapshotBuildBenchmark {

  private static final String[] REGIONS = {"eu-west", "us-east", "public-burst"};
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final OperatingSystemMXBean PROCESS =
      (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  private SnapshotBuildBenchmark() {}

  static MeshState mesh(int services, int endpointsPerService) {
    List<MeshEndpoint> eps = new ArrayList<>();
    for (int s = 0; s < services; s++) {
      for (int e = 0; e < endpointsPerService; e++) {
        String region = REGIONS[e % REGIONS.length];
        eps.add(MeshEndpoint.builder("svc-" + s, "10." + (s % 250) + "." + (e / 250) + "." + (e % 250), 9443, region)
            .id("svc-" + s + "-" + e)
            .zone("z" + (e % 4))
            .tier(region.equals("public-burst") ? Tier.PUBLIC : Tier.PRIVATE)
            .utilization(0.5)
            .build());
      }
    }
    return MeshState.of(eps);
  }

  static MeshPolicy policy(int services) {
    List<ServicePolicy> list = new ArrayList<>();
    for (int s = 0; s < services; s++) {
      list.add(ServicePolicy.grpc("svc-" + s));
    }
    MeshPolicy base = MeshPolicy.defaults("mesh.local", List.of(
        new RegionPolicy("eu-west", Tier.PRIVATE), new RegionPolicy("us-east", Tier.PRIVATE),
        new RegionPolicy("public-burst", Tier.PUBLIC)));
    return new MeshPolicy(base.trustDomain(), base.regions(), list, base.burst(), base.upstream(), base.envoy(), true);
  }

  /** Wall-clock p50 and p99 of a build, and the p50 of the building thread's CPU time, in ms. */
  record Stats(double p50, double p99, double cpuP50, double servicesRebuilt, double unchangedP50) {}

  static Stats run(int services, int endpoints, int iterations) {
    return runCold(services, endpoints, iterations, null)[0];
  }

  /**
   * Cold builds (a new builder each time, as after a restart): on this thread, and when {@code
   * pool} is given also with services built on it, the two alternated so load hits both alike.
   * The pooled build's CPU is the process's (its work runs on the pool's threads).
   */
  static Stats[] runCold(int services, int endpoints, int iterations, ForkJoinPool pool) {
    MeshState state = mesh(services, endpoints);
    MeshPolicy policy = policy(services);
    BurstShares shares = BurstShares.of("svc-0", "eu-west", 0.2);
    for (int i = 0; i < 20; i++) {
      MeshSnapshotBuilder.build(state, policy, shares, SecretMaterial.none());
      if (pool != null) {
        new IncrementalSnapshotBuilder(pool).build(state, policy, shares, SecretMaterial.none());
      }
    }
    long[] nanos = new long[iterations];
    long[] cpu = new long[iterations];
    long[] pooledNanos = new long[iterations];
    long[] pooledCpu = new long[iterations];
    for (int i = 0; i < iterations; i++) {
      long c = THREADS.getCurrentThreadCpuTime();
      long t = System.nanoTime();
      MeshSnapshotBuilder.build(state, policy, shares, SecretMaterial.none());
      nanos[i] = System.nanoTime() - t;
      cpu[i] = THREADS.getCurrentThreadCpuTime() - c;
      if (pool != null) {
        c = PROCESS.getProcessCpuTime();
        t = System.nanoTime();
        new IncrementalSnapshotBuilder(pool).build(state, policy, shares, SecretMaterial.none());
        pooledNanos[i] = System.nanoTime() - t;
        pooledCpu[i] = PROCESS.getProcessCpuTime() - c;
      }
    }
    Stats stats = new Stats(p(nanos, 0.5), p(nanos, 0.99), p(cpu, 0.5), services, 0);
    System.out.printf("%4d services x %3d endpoints (%5d endpoints, %4d clusters, 8 groups): p50 %6.1f ms, p99 %6.1f ms"
            + " (CPU p50 %6.1f ms)%n", services, endpoints, services * endpoints, services * 2,
        stats.p50(), stats.p99(), stats.cpuP50());
    if (pool == null) {
      return new Stats[] {stats};
    }
    Stats pooled = new Stats(p(pooledNanos, 0.5), p(pooledNanos, 0.99), p(pooledCpu, 0.5), services, 0);
    System.out.printf("%4d services x %3d endpoints, built on %d threads: p50 %6.1f ms, p99 %6.1f ms"
            + " (process CPU p50 %6.1f ms)%n", services, endpoints, pool.getParallelism(), pooled.p50(), pooled.p99(),
        pooled.cpuP50());
    return new Stats[] {stats, pooled};
  }

  static Stats runIncremental(int services, int endpoints, int iterations) {
    MeshState state = mesh(services, endpoints);
    MeshPolicy policy = policy(services);
    BurstShares shares = BurstShares.of("svc-0", "eu-west", 0.2);
    // each state differs from the one before it in one service: one endpoint's health flips
    MeshState[] states = new MeshState[iterations + 20];
    for (int i = 0; i < states.length; i++) {
      MeshEndpoint e = state.endpoints().get((i * endpoints * 7) % state.endpoints().size());
      state = state.with(e.withHealth(e.health() == EndpointHealth.HEALTHY ? EndpointHealth.UNHEALTHY : EndpointHealth.HEALTHY));
      states[i] = state;
    }
    IncrementalSnapshotBuilder builder = new IncrementalSnapshotBuilder();
    builder.build(mesh(services, endpoints), policy, shares, SecretMaterial.none());
    for (int i = 0; i < 20; i++) {
      builder.build(states[i], policy, shares, SecretMaterial.none());
    }
    long[] nanos = new long[iterations];
    long[] cpu = new long[iterations];
    long[] unchanged = new long[iterations];
    long builtBefore = builder.servicesBuilt();
    for (int i = 0; i < iterations; i++) {
      long c = THREADS.getCurrentThreadCpuTime();
      long t = System.nanoTime();
      builder.build(states[20 + i], policy, shares, SecretMaterial.none());
      nanos[i] = System.nanoTime() - t;
      cpu[i] = THREADS.getCurrentThreadCpuTime() - c;
      t = System.nanoTime();
      builder.build(states[20 + i], policy, shares, SecretMaterial.none());
      unchanged[i] = System.nanoTime() - t;
    }
    long rebuilt = builder.servicesBuilt() - builtBefore;
    Stats stats = new Stats(p(nanos, 0.5), p(nanos, 0.99), p(cpu, 0.5), (double) rebuilt / iterations,
        p(unchanged, 0.5));
    System.out.printf("%4d services x %3d endpoints, one service changed: p50 %6.1f ms, p99 %6.1f ms"
            + " (CPU p50 %6.1f ms; %.1f services rebuilt per build); nothing changed: p50 %6.1f ms%n",
        services, endpoints, stats.p50(), stats.p99(), stats.cpuP50(), stats.servicesRebuilt(), stats.unchangedP50());
    return stats;
  }

  /** The {@code q} quantile of {@code nanos}, in ms (sorts it). */
  static double p(long[] nanos, double q) {
    Arrays.sort(nanos);
    return nanos[Math.min(nanos.length - 1, (int) (nanos.length * q))] / 1e6;
  }

  public static void main(String[] args) {
    boolean fullOnly = args.length > 0 && args[0].equals("full");
    run(100, 100, 50);
    run(1000, 10, 50);
    run(50, 100, 50); // 100 CDS clusters x 100 endpoints each
    if (!fullOnly) {
      runIncremental(1000, 10, 50);
      runIncremental(50, 100, 50);
    }
  }
}
