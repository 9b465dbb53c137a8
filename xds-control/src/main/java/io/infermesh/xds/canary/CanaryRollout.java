package io.infermesh.xds.canary;

import static java.util.Objects.requireNonNull;

import io.infermesh.xds.canary.RolloutStatus.Phase;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * One canary rollout's state machine. Fed the canary version's cumulative {@link VersionStats}
 * each interval ({@link #evaluate}), it answers the split to publish:
 *
 * <ol>
 *   <li>A step starts with the canary at {@code steps[i]} percent and takes the report of that
 *       moment as its baseline; everything judged is the difference from it (the step's window).
 *   <li>Once the window holds {@code min_requests} canary calls, every report is judged at once:
 *       error rate above {@code max_error_rate}, or TTFT p99 (the upper bound of its histogram
 *       bucket, see {@link LatencyHistogram}) above {@code max_ttft_p99}, rolls back — 100 %
 *       stable, phase {@link Phase#ROLLED_BACK}, the breach and its figures as the reason. A bad
 *       canary is stopped as soon as the evidence is in, without waiting out the dwell.
 *   <li>A step is promoted only when both its dwell has passed and its window holds {@code
 *       min_requests} calls within the SLOs; a quiet canary waits at its step (no verdict without
 *       evidence). After the last step (100 %) passes the same way, the rollout is {@link
 *       Phase#COMPLETED}.
 *   <li>A report whose counters went down (a canary node restarted or left) restarts the step's
 *       window and dwell from that report: the lost calls are not judged.
 * </ol>
 *
 * A rolled-back or completed rollout stays so; nothing here is persisted (a restarted control
 * plane starts the plan again at its first step). Not thread-safe: confined to the driver's thread.
 */
public final class CanaryRollout {

  private final RolloutPlan plan;
  private final Clock clock;
  private Phase phase = Phase.PROGRESSING;
  private int step;
  private Instant since;
  private Instant stepStarted;
  private VersionStats baseline; // null until the step's first report
  private VersionStats window = VersionStats.NONE;
  private String reason;

  /** Starts {@code plan} at its first step, timed on {@code clock}. */
  public CanaryRollout(RolloutPlan plan, Clock clock) {
    this.plan = requireNonNull(plan, "plan");
    this.clock = requireNonNull(clock, "clock");
    this.since = clock.instant();
    this.stepStarted = since;
    this.reason = "step 1 of " + plan.steps().size() + ": " + plan.steps().get(0) + " % on " + plan.canary();
  }

  /** The plan it runs. */
  public RolloutPlan plan() {
    return plan;
  }

  /**
   * Judges the canary's latest cumulative report and returns where the rollout now stands;
   * {@link RolloutStatus#weights()} is the split to publish.
   */
  public RolloutStatus evaluate(VersionStats canary) {
    requireNonNull(canary, "canary");
    if (phase != Phase.PROGRESSING) {
      return status();
    }
    Instant now = clock.instant();
    if (baseline == null) {
      startWindow(canary, now);
      return status();
    }
    Optional<VersionStats> delta = canary.since(baseline);
    if (delta.isEmpty()) {
      startWindow(canary, now);
      reason = "step " + (step + 1) + ": a canary node's counters went down (restarted or left); window restarted";
      return status();
    }
    window = delta.get();
    if (window.requests() < plan.minRequests()) {
      return status();
    }
    Optional<String> breach = breach(window);
    if (breach.isPresent()) {
      phase = Phase.ROLLED_BACK;
      since = now;
      reason = "rolled back at " + plan.steps().get(step) + " %: " + breach.get();
      return status();
    }
    if (Duration.between(stepStarted, now).compareTo(plan.dwell()) >= 0) {
      promote(canary, now);
    }
    return status();
  }

  /** Where the rollout stands, without judging anything. */
  public RolloutStatus status() {
    int percent = switch (phase) {
      case PROGRESSING -> plan.steps().get(step);
      case COMPLETED -> 100;
      case ROLLED_BACK -> 0;
    };
    return new RolloutStatus(plan.service(), plan.stable(), plan.canary(), phase, step, percent, since, reason,
        window);
  }

  private Optional<String> breach(VersionStats w) {
    if (w.errorRate() > plan.maxErrorRate()) {
      return Optional.of(String.format(Locale.ROOT, "error rate %.4f over %d requests > max_error_rate %s",
          w.errorRate(), w.requests(), plan.maxErrorRate()));
    }
    Optional<Double> p99 = w.ttft().quantileUpperBound(0.99);
    double limit = plan.maxTtftP99().toNanos() / 1e9;
    if (p99.isPresent() && p99.get() > limit) {
      return Optional.of(String.format(Locale.ROOT, "TTFT p99 <= %ss over %d first tokens > max_ttft_p99 %ss",
          p99.get(), w.ttft().count(), limit));
    }
    return Optional.empty();
  }

  private void promote(VersionStats canary, Instant now) {
    String passed = String.format(Locale.ROOT, "%d %% held %s with %d requests, error rate %.4f",
        plan.steps().get(step), plan.dwell(), window.requests(), window.errorRate());
    if (step == plan.steps().size() - 1) {
      phase = Phase.COMPLETED;
      since = now;
      reason = "completed: " + passed;
      return;
    }
    step++;
    since = now;
    startWindow(canary, now);
    reason = "step " + (step + 1) + " of " + plan.steps().size() + ": " + plan.steps().get(step) + " % on "
        + plan.canary() + " (" + passed + ")";
  }

  private void startWindow(VersionStats canary, Instant now) {
    baseline = canary;
    stepStarted = now;
    window = VersionStats.NONE;
  }
}
