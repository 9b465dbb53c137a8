package io.infermesh.xds.canary;

import static java.util.Objects.requireNonNull;

import io.infermesh.xds.snapshot.MeshEndpoint;
import java.time.Duration;
import java.util.List;

/**
 * One canary rollout ({@code rollouts[]} in {@code mesh.yaml}): move a service's unpinned traffic
 * from {@code stable} to {@code canary} through {@code steps} (percent of traffic on the canary,
 * strictly rising, ending at 100), holding each step at least {@code dwell}, and roll back to 100 %
 * stable as soon as the canary breaches an SLO. Immutable; validated when built, messages name the
 * key under {@code rollouts[i]}.
 *
 * @param service the mesh service whose versions are split (it declares no {@code versions} itself)
 * @param stable the version that has all traffic before, and after a rollback
 * @param canary the version rolled out
 * @param steps canary percent per step, each in 1..100, strictly rising, the last 100
 * @param dwell least time a step is held and judged before the next one
 * @param minRequests canary requests a step needs before it is judged at all; a step with fewer
 *     is neither promoted nor rolled back (no verdict without evidence)
 * @param maxErrorRate the canary's failed / all requests in a step above which it is rolled back, 0..1
 * @param maxTtftP99 the canary's time-to-first-token p99 in a step above which it is rolled back
 * @param interval how often the nodes are scraped and the rollout judged
 */
public record RolloutPlan(
    String service,
    String stable,
    String canary,
    List<Integer> steps,
    Duration dwell,
    long minRequests,
    double maxErrorRate,
    Duration maxTtftP99,
    Duration interval) {

  /** {@code steps} when none are given. */
  public static final List<Integer> DEFAULT_STEPS = List.of(1, 10, 50, 100);

  public RolloutPlan {
    requireNonNull(service, "service");
    requireNonNull(stable, "stable");
    requireNonNull(canary, "canary");
    requireNonNull(dwell, "dwell");
    requireNonNull(maxTtftP99, "maxTtftP99");
    requireNonNull(interval, "interval");
    steps = List.copyOf(requireNonNull(steps, "steps"));
    if (!MeshEndpoint.isValidName(service)) {
      throw new IllegalArgumentException("service must name a service of services[], was '" + service + "'");
    }
    if (!MeshEndpoint.isValidVersion(stable)) {
      throw new IllegalArgumentException("stable must be a version name, was '" + stable + "'");
    }
    if (!MeshEndpoint.isValidVersion(canary)) {
      throw new IllegalArgumentException("canary must be a version name, was '" + canary + "'");
    }
    if (stable.equals(canary)) {
      throw new IllegalArgumentException("canary must differ from stable, both are '" + canary + "'");
    }
    if (steps.isEmpty() || steps.get(steps.size() - 1) != 100) {
      throw new IllegalArgumentException("steps must end at 100 (percent on the canary), was " + steps);
    }
    for (int i = 0; i < steps.size(); i++) {
      int s = steps.get(i);
      if (s < 1 || s > 100 || (i > 0 && s <= steps.get(i - 1))) {
        throw new IllegalArgumentException("steps must rise strictly within 1..100, was " + steps);
      }
    }
    if (dwell.isNegative() || dwell.isZero()) {
      throw new IllegalArgumentException("dwell must be positive, was " + dwell);
    }
    if (minRequests < 1) {
      throw new IllegalArgumentException("min_requests must be at least 1, was " + minRequests);
    }
    if (!(maxErrorRate >= 0 && maxErrorRate <= 1)) {
      throw new IllegalArgumentException("max_error_rate must be in [0, 1], was " + maxErrorRate);
    }
    if (maxTtftP99.isNegative() || maxTtftP99.isZero()) {
      throw new IllegalArgumentException("max_ttft_p99 must be positive, was " + maxTtftP99);
    }
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval must be positive, was " + interval);
    }
  }

  /** A plan with the defaults: steps 1/10/50/100, dwell 5m, 100 requests, 1 % errors, TTFT p99 2s, every 10s. */
  public static RolloutPlan of(String service, String stable, String canary) {
    return new RolloutPlan(service, stable, canary, DEFAULT_STEPS, Duration.ofMinutes(5), 100, 0.01,
        Duration.ofSeconds(2), Duration.ofSeconds(10));
  }

  public RolloutPlan withSteps(List<Integer> newSteps, Duration newDwell, long newMinRequests) {
    return new RolloutPlan(service, stable, canary, newSteps, newDwell, newMinRequests, maxErrorRate, maxTtftP99,
        interval);
  }

  public RolloutPlan withSlos(double newMaxErrorRate, Duration newMaxTtftP99) {
    return new RolloutPlan(service, stable, canary, steps, dwell, minRequests, newMaxErrorRate, newMaxTtftP99,
        interval);
  }

  public RolloutPlan withInterval(Duration newInterval) {
    return new RolloutPlan(service, stable, canary, steps, dwell, minRequests, maxErrorRate, maxTtftP99,
        newInterval);
  }
}
