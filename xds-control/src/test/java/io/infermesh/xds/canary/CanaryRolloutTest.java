package io.infermesh.xds.canary;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.FakeClock;
import io.infermesh.xds.canary.RolloutStatus.Phase;
import io.infermesh.xds.snapshot.VersionWeight;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class CanaryRolloutTest {

  private final FakeClock time = new FakeClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final RolloutPlan plan = RolloutPlan.of("core-inference", "v1", "v2")
      .withSteps(List.of(10, 50, 100), Duration.ofMinutes(1), 20)
      .withSlos(0.05, Duration.ofMillis(500));

  /** A cumulative report: {@code requests} calls, {@code errors} failed, every first token at {@code ttftSeconds}. */
  private static VersionStats report(long requests, long errors, double ttftSeconds) {
    TreeMap<Double, Long> buckets = new TreeMap<>();
    long ok = requests - errors;
    for (double le : new double[] {0.1, 0.25, 0.5, 1, 2.5}) {
      buckets.put(le, ttftSeconds <= le ? ok : 0);
    }
    buckets.put(Double.POSITIVE_INFINITY, ok);
    return new VersionStats(requests, errors, new LatencyHistogram(buckets));
  }

  @Test
  void evaluate_healthyCanary_movesStepByStepAfterEachDwellThenCompletes() {
    CanaryRollout rollout = new CanaryRollout(plan, time.clock());
    assertThat(rollout.evaluate(report(0, 0, 0)).weights())
        .containsExactly(new VersionWeight("v1", 90), new VersionWeight("v2", 10));

    time.forward(Duration.ofSeconds(30));
    assertThat(rollout.evaluate(report(40, 0, 0.1)).canaryPercent()).as("dwell not over").isEqualTo(10);
    time.forward(Duration.ofSeconds(30));
    RolloutStatus second = rollout.evaluate(report(50, 0, 0.1));
    assertThat(second.canaryPercent()).isEqualTo(50);
    assertThat(second.reason()).contains("step 2 of 3").contains("50 requests");

    time.forward(Duration.ofMinutes(1));
    assertThat(rollout.evaluate(report(120, 1, 0.1)).canaryPercent()).isEqualTo(100);
    time.forward(Duration.ofMinutes(1));
    RolloutStatus done = rollout.evaluate(report(400, 2, 0.1));

    assertThat(done.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(done.weights()).containsExactly(new VersionWeight("v1", 0), new VersionWeight("v2", 100));
    time.forward(Duration.ofMinutes(5));
    assertThat(rollout.evaluate(report(900, 800, 3)).phase()).as("completed stays completed")
        .isEqualTo(Phase.COMPLETED);
  }

  @Test
  void evaluate_errorRateAboveSlo_rollsBackAtOnceWithTheFiguresAsReason() {
    CanaryRollout rollout = new CanaryRollout(plan, time.clock());
    rollout.evaluate(report(0, 0, 0));
    time.forward(Duration.ofSeconds(5)); // well inside the dwell

    RolloutStatus status = rollout.evaluate(report(20, 4, 0.1));

    assertThat(status.phase()).isEqualTo(Phase.ROLLED_BACK);
    assertThat(status.weights()).containsExactly(new VersionWeight("v1", 100), new VersionWeight("v2", 0));
    assertThat(status.reason()).isEqualTo(
        "rolled back at 10 %: error rate 0.2000 over 20 requests > max_error_rate 0.05");
    time.forward(Duration.ofMinutes(10));
    assertThat(rollout.evaluate(report(1000, 4, 0.1)).phase()).as("a rollback is final").isEqualTo(Phase.ROLLED_BACK);
  }

  @Test
  void evaluate_slowFirstTokens_rollBackOnTtftP99() {
    CanaryRollout rollout = new CanaryRollout(plan, time.clock());
    rollout.evaluate(report(0, 0, 0));

    RolloutStatus status = rollout.evaluate(report(30, 0, 1.0));

    assertThat(status.phase()).isEqualTo(Phase.ROLLED_BACK);
    assertThat(status.reason()).contains("TTFT p99 <= 1.0s over 30 first tokens > max_ttft_p99 0.5s");
  }

  @Test
  void evaluate_tooFewRequests_neitherPromotesNorRollsBack() {
    CanaryRollout rollout = new CanaryRollout(plan, time.clock());
    rollout.evaluate(report(0, 0, 0));
    time.forward(Duration.ofMinutes(10));

    RolloutStatus status = rollout.evaluate(report(19, 19, 3));

    assertThat(status.phase()).isEqualTo(Phase.PROGRESSING);
    assertThat(status.canaryPercent()).isEqualTo(10);
  }

  @Test
  void evaluate_judgesOnlyTheStepsWindow_notWhatCameBefore() {
    CanaryRollout rollout = new CanaryRollout(plan, time.clock());
    // errors before the rollout started (the baseline) are not the canary's fault in this step
    rollout.evaluate(report(100, 50, 0.1));
    time.forward(Duration.ofMinutes(1));

    RolloutStatus status = rollout.evaluate(report(130, 50, 0.1));

    assertThat(status.canaryPercent()).isEqualTo(50);
  }

  @Test
  void evaluate_countersWentDown_restartsTheWindowAndItsDwell() {
    CanaryRollout rollout = new CanaryRollout(plan, time.clock());
    rollout.evaluate(report(100, 0, 0.1));
    time.forward(Duration.ofSeconds(50));
    RolloutStatus reset = rollout.evaluate(report(10, 0, 0.1)); // a node restarted
    assertThat(reset.reason()).contains("window restarted");
    time.forward(Duration.ofSeconds(30));
    assertThat(rollout.evaluate(report(40, 0, 0.1)).canaryPercent()).as("dwell counts from the reset").isEqualTo(10);
    time.forward(Duration.ofSeconds(30));
    assertThat(rollout.evaluate(report(40, 0, 0.1)).canaryPercent()).isEqualTo(50);
  }

  @Test
  void quantileUpperBound_isTheBucketHoldingTheRank() {
    TreeMap<Double, Long> b = new TreeMap<>();
    b.put(0.1, 98L);
    b.put(0.5, 99L);
    b.put(1.0, 100L);
    b.put(Double.POSITIVE_INFINITY, 100L);
    LatencyHistogram h = new LatencyHistogram(b);

    assertThat(h.quantileUpperBound(0.99)).contains(0.5);
    assertThat(h.quantileUpperBound(0.5)).contains(0.1);
    assertThat(h.quantileUpperBound(1.0)).contains(1.0);
    assertThat(LatencyHistogram.empty().quantileUpperBound(0.99)).isEmpty();
  }
}
