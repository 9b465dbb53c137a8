package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The shared test clock: tasks run in time order when, and only when, time is forwarded. */
class FakeClockTest {
  private final FakeClock time = new FakeClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final List<String> ran = new ArrayList<>();

  @Test
  void forward_runsDueTasksInTimeOrder_andMovesEveryView() {
    time.scheduler().schedule(() -> ran.add("b@20"), 20, TimeUnit.MILLISECONDS);
    time.scheduler().schedule(() -> ran.add("a@10"), 10, TimeUnit.MILLISECONDS);
    time.scheduler().schedule(() -> ran.add("c@30"), 30, TimeUnit.MILLISECONDS);

    assertThat(time.forward(Duration.ofMillis(25))).isEqualTo(2);

    assertThat(ran).containsExactly("a@10", "b@20");
    assertThat(time.nanoTime()).isEqualTo(Duration.ofMillis(25).toNanos());
    assertThat(time.ticker().getAsLong()).isEqualTo(time.nanoTime());
    assertThat(time.clock().instant()).isEqualTo(Instant.parse("2026-01-01T00:00:00.025Z"));
    assertThat(time.pendingTasks()).isEqualTo(1);
  }

  @Test
  void execute_runsOnlyWhenTheTestRunsDueTasks() {
    time.scheduler().execute(() -> ran.add("now"));
    assertThat(ran).isEmpty();

    time.runDueTasks();

    assertThat(ran).containsExactly("now");
  }

  @Test
  void fixedDelay_repeatsEveryPeriod_untilCancelled() {
    ScheduledFuture<?> tick = time.scheduler().scheduleWithFixedDelay(() -> ran.add("tick"), 10, 10,
        TimeUnit.MILLISECONDS);

    time.forward(Duration.ofMillis(35));
    assertThat(ran).hasSize(3);
    assertThat(time.tasksRun()).isEqualTo(3);

    tick.cancel(false);
    time.forward(Duration.ofSeconds(1));
    assertThat(ran).hasSize(3);
    assertThat(time.pendingTasks()).isZero();
  }

  @Test
  void aTaskScheduledForNowByARunningTask_runsInTheSameForward() {
    time.scheduler().schedule(() -> {
      ran.add("first");
      time.scheduler().execute(() -> ran.add("second"));
    }, 5, TimeUnit.MILLISECONDS);

    time.forward(Duration.ofMillis(5));

    assertThat(ran).containsExactly("first", "second");
  }

  @Test
  void forward_negative_isRefused() {
    assertThatThrownBy(() -> time.forward(Duration.ofMillis(-1))).hasMessageContaining("only moves forward");
  }
}
