package io.infermesh.core.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The upstream admission gate driven step by step with a manual clock. */
class PriorityGateTest {
  private final AtomicLong clock = new AtomicLong(1_000);

  private PriorityGate gate(int running, int queued) {
    return new PriorityGate(PriorityGate.Config.of(running, queued, Duration.ofSeconds(10)), clock::get);
  }

  @Test
  void admit_freeSlots_startsInPriorityThenArrivalOrder() {
    PriorityGate g = gate(2, 8);
    g.offer("low", Priority.LOW);
    g.offer("normal", Priority.NORMAL);
    g.offer("high", Priority.HIGH);
    assertThat(g.admit()).containsExactly("high", "normal");
    assertThat(g.stats().queued()).containsEntry(Priority.LOW, 1);
    g.release("high", true);
    assertThat(g.admit()).containsExactly("low");
    assertThat(g.stats().running()).isEqualTo(2);
  }

  @Test
  void admit_lowAtItsShare_skippedWhileOthersGoAhead() {
    PriorityGate g = gate(4, 8); // LOW may hold 2 of the 4 slots
    g.offer("low-1", Priority.LOW);
    g.offer("low-2", Priority.LOW);
    g.offer("low-3", Priority.LOW);
    assertThat(g.admit()).containsExactly("low-1", "low-2");
    g.offer("normal", Priority.NORMAL);
    assertThat(g.admit()).containsExactly("normal");
    assertThat(g.isRunning("low-3")).isFalse();
    g.release("low-1", true);
    assertThat(g.admit()).containsExactly("low-3");
  }

  @Test
  void offer_queueFull_rejectsWithRetryHintFromObservedServiceTime() {
    PriorityGate g = gate(1, 1);
    g.offer("a", Priority.NORMAL);
    g.admit();
    clock.addAndGet(Duration.ofMillis(800).toNanos());
    g.release("a", true); // served in 800 ms
    g.offer("b", Priority.NORMAL);
    g.admit();
    g.offer("c", Priority.NORMAL); // waits
    Admission refused = g.offer("d", Priority.HIGH);
    assertThat(refused).isInstanceOfSatisfying(Admission.Rejected.class, r -> {
      assertThat(r.reason()).contains("queue full");
      assertThat(r.retryAfterMillis()).isEqualTo(800);
    });
  }

  @Test
  void admit_lowWaitedTwoAgingPeriods_goesBeforeNewerNormal() {
    PriorityGate g = gate(1, 8);
    g.offer("busy", Priority.HIGH);
    g.admit();
    g.offer("old-low", Priority.LOW);
    clock.addAndGet(Duration.ofSeconds(25).toNanos());
    g.offer("new-normal", Priority.NORMAL);
    g.release("busy", true);
    assertThat(g.admit()).containsExactly("old-low");
  }

  @Test
  void release_queuedOrUnknown_removesOrIgnores() {
    PriorityGate g = gate(1, 2);
    g.offer("a", Priority.NORMAL);
    g.admit();
    g.offer("b", Priority.NORMAL);
    g.release("b", false); // cancelled while waiting
    g.release("nobody", false);
    assertThat(g.stats().queued()).containsEntry(Priority.NORMAL, 0);
    assertThatThrownBy(() -> g.offer("a", Priority.LOW)).hasMessageContaining("already in flight");
  }

  @Test
  void config_shareBelowOne_failsNamingThePriority() {
    assertThatThrownBy(() -> new PriorityGate.Config(4, 4, Map.of(Priority.LOW, 0), Duration.ofSeconds(1),
        Duration.ofSeconds(1))).hasMessageContaining("LOW");
  }
}
