package io.infermesh.core.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.infermesh.core.engine.SamplingParams;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The utilization a core node publishes: the instant figure, its smoothing and when it is worth publishing. */
class UtilizationTest {
  private static final long SECOND = 1_000_000_000L;

  private static SchedulerStats stats(int queued, int running, int kvUsed, int kvFree) {
    return new SchedulerStats(Map.of(Priority.HIGH, 0, Priority.NORMAL, queued, Priority.LOW, 0), running, kvUsed,
        kvFree, 0);
  }

  private static GenerationRequest request(String id, int promptLength) {
    int[] prompt = IntStream.range(0, promptLength).map(i -> 10 + i).toArray();
    return new GenerationRequest(id, prompt, 8, Priority.NORMAL, SamplingParams.GREEDY, Set.of(), Long.MAX_VALUE);
  }

  @Test
  void instant_idle_isZero() {
    assertThat(Utilization.instant(SchedulerStats.EMPTY, 8)).isZero();
    assertThat(Utilization.instant(stats(0, 0, 0, 64), 8)).isZero();
  }

  @Test
  void instant_busierOfBatchAndKv_plusQueueInBatches_cappedAtTwo() {
    assertThat(Utilization.instant(stats(0, 2, 8, 56), 8)).as("batch 2/8 beats KV 8/64").isEqualTo(0.25);
    assertThat(Utilization.instant(stats(0, 2, 48, 16), 8)).as("KV 48/64 beats batch 2/8").isEqualTo(0.75);
    assertThat(Utilization.instant(stats(4, 8, 16, 48), 8)).as("full batch + half a batch waiting").isEqualTo(1.5);
    assertThat(Utilization.instant(stats(100, 8, 64, 0), 8)).as("a long queue").isEqualTo(Utilization.MAX);
  }

  @Test
  void instant_upstreamGateStats_countCallsInFlightAndQueued() {
    PriorityGate gate = new PriorityGate(PriorityGate.Config.of(4, 8, Duration.ofSeconds(10)), () -> 0L);
    assertThat(Utilization.instant(gate.stats(), 4)).isZero();
    for (int i = 0; i < 5; i++) {
      gate.offer("c" + i, Priority.NORMAL);
    }
    gate.admit();

    assertThat(Utilization.instant(gate.stats(), 4)).as("4 of 4 in flight, 1 waiting").isEqualTo(1.25);
  }

  @Test
  void instant_realScheduler_followsAdmissionsAndFinishes() {
    // batch of 2, 8 blocks of 4 positions: each request (prompt 6 + 1) holds 2 blocks once admitted
    Scheduler s = new Scheduler(new SchedulerConfig(8, 2, 64, 16, 8, 4, 32, Duration.ofSeconds(10),
        Duration.ofSeconds(1)), () -> 0L);
    s.submit(request("a", 6));
    s.submit(request("b", 6));
    s.submit(request("c", 6));
    assertThat(Utilization.instant(s.stats(), 2)).as("three waiting for a batch of two").isEqualTo(1.5);

    StepPlan plan = s.schedule();
    assertThat(Utilization.instant(s.stats(), 2)).as("two running, one waiting").isEqualTo(1.5);

    s.complete(plan, new int[] {999, 999});
    s.cancel("a");
    s.cancel("b");
    s.cancel("c");
    assertThat(Utilization.instant(s.stats(), 2)).isZero();
  }

  @Test
  void instant_noSlots_isRejected() {
    assertThatThrownBy(() -> Utilization.instant(SchedulerStats.EMPTY, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("slots must be positive, got 0");
  }

  @Test
  void sample_stepChange_approachesItExponentiallyWithTheWindow() {
    Utilization u = new Utilization(Duration.ofSeconds(10));
    assertThat(u.value()).isZero();
    assertThat(u.sample(0, 0.0)).as("the first sample is taken as it is").isZero();

    double after10s = u.sample(10 * SECOND, 1.0);
    assertThat(after10s).isCloseTo(1 - Math.exp(-1), within(1e-9));
    double after20s = u.sample(20 * SECOND, 1.0);
    assertThat(after20s).isCloseTo(1 - Math.exp(-2), within(1e-9));
    // ten one-second samples move it as far as one ten-second one
    for (int i = 1; i <= 10; i++) {
      u.sample((20 + i) * SECOND, 1.0);
    }
    assertThat(u.value()).isCloseTo(1 - Math.exp(-3), within(1e-9));
  }

  @Test
  void sample_spikeShorterThanTheWindow_movesItLittle() {
    Utilization u = new Utilization(Duration.ofSeconds(10));
    u.sample(0, 0.2);
    u.sample(SECOND, 2.0); // one second of a long queue
    u.sample(2 * SECOND, 0.2);

    assertThat(u.value()).isBetween(0.2, 0.4);
  }

  @Test
  void sample_zeroWindowOrSameTime_behaveAsDocumented() {
    Utilization instant = new Utilization(Duration.ZERO);
    instant.sample(0, 0.3);
    assertThat(instant.sample(1, 1.7)).isEqualTo(1.7);
    assertThat(instant.sample(2, 5.0)).as("capped").isEqualTo(Utilization.MAX);

    Utilization smoothed = new Utilization(Duration.ofSeconds(1));
    smoothed.sample(5 * SECOND, 0.5);
    assertThat(smoothed.sample(4 * SECOND, 1.0)).as("an older sample counts as taken at the same time").isEqualTo(0.5);
  }

  @Test
  void sample_badValues_areRejected() {
    Utilization u = new Utilization(Duration.ofSeconds(1));
    assertThatThrownBy(() -> u.sample(0, Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> u.sample(0, -0.1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Utilization(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must not be negative");
  }
}
