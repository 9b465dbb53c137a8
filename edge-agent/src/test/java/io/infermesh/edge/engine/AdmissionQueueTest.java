package io.infermesh.edge.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AdmissionQueueTest {
  private final AdmissionQueue queue = AdmissionQueue.create(1, 2);

  @Test
  void tryEnter_beyondSlotsPlusDepth_isRefused() {
    AdmissionQueue.Ticket running = queue.tryEnter();
    AdmissionQueue.Ticket second = queue.tryEnter();
    AdmissionQueue.Ticket third = queue.tryEnter();

    assertThat(running.holdsSlot()).isTrue();
    assertThat(second.holdsSlot()).isFalse();
    assertThat(third.holdsSlot()).isFalse();
    assertThat(queue.tryEnter()).isNull();
    assertThat(queue.waiting()).isEqualTo(2);
    assertThat(queue.running()).isEqualTo(1);
  }

  @Test
  void close_ofAWaitingTicket_freesItsPlaceInLine() {
    queue.tryEnter();
    AdmissionQueue.Ticket waiting = queue.tryEnter();
    queue.tryEnter();

    waiting.close();
    waiting.close();

    assertThat(queue.waiting()).isEqualTo(1);
    assertThat(queue.tryEnter()).isNotNull();
  }

  @Test
  void awaitSlot_getsTheSlotWhenTheRunningTicketCloses() throws Exception {
    AdmissionQueue.Ticket running = queue.tryEnter();
    AdmissionQueue.Ticket waiting = queue.tryEnter();
    CompletableFuture<Boolean> got = CompletableFuture.supplyAsync(() -> {
      try {
        return waiting.awaitSlot(() -> false);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });

    running.close();

    assertThat(got.get(5, TimeUnit.SECONDS)).isTrue();
    assertThat(queue.waiting()).isZero();
    assertThat(queue.running()).isEqualTo(1);
  }

  @Test
  void awaitSlot_givingUp_returnsFalseAndKeepsItsPlaceUntilClosed() throws Exception {
    queue.tryEnter();
    AdmissionQueue.Ticket waiting = queue.tryEnter();
    AtomicBoolean giveUp = new AtomicBoolean(true);

    assertThat(waiting.awaitSlot(giveUp::get)).isFalse();
    assertThat(queue.waiting()).isEqualTo(1);
    waiting.close();
    assertThat(queue.waiting()).isZero();
  }

  @Test
  void tryEnter_depthZero_refusesWhileTheSlotIsBusy() {
    AdmissionQueue noLine = AdmissionQueue.create(1, 0);
    AdmissionQueue.Ticket running = noLine.tryEnter();

    assertThat(noLine.tryEnter()).isNull();
    running.close();
    assertThat(noLine.tryEnter()).isNotNull();
  }

  @Test
  void close_withWaitersOfEachClass_grantsHighThenNormalThenLow() {
    AdmissionQueue q = AdmissionQueue.create(1, 3, Duration.ofSeconds(5), () -> 0L);
    AdmissionQueue.Ticket running = q.tryEnter(Priority.NORMAL);
    AdmissionQueue.Ticket low = q.tryEnter(Priority.LOW);
    AdmissionQueue.Ticket normal = q.tryEnter(Priority.NORMAL);
    AdmissionQueue.Ticket high = q.tryEnter(Priority.HIGH);

    running.close();
    assertThat(List.of(high.holdsSlot(), normal.holdsSlot(), low.holdsSlot())).containsExactly(true, false, false);
    high.close();
    assertThat(List.of(normal.holdsSlot(), low.holdsSlot())).containsExactly(true, false);
    normal.close();
    assertThat(low.holdsSlot()).isTrue();
    assertThat(q.waiting()).isZero();
  }

  @Test
  void close_lowHasWaitedTwoAgingPeriods_goesBeforeAFreshHigh() {
    AtomicLong now = new AtomicLong();
    AdmissionQueue q = AdmissionQueue.create(1, 3, Duration.ofSeconds(5), now::get);
    AdmissionQueue.Ticket running = q.tryEnter(Priority.HIGH);
    AdmissionQueue.Ticket low = q.tryEnter(Priority.LOW);
    now.addAndGet(Duration.ofSeconds(10).toNanos());
    AdmissionQueue.Ticket high = q.tryEnter(Priority.HIGH);

    running.close();

    // aged to high, and it came first
    assertThat(low.holdsSlot()).isTrue();
    assertThat(high.holdsSlot()).isFalse();
  }

  @Test
  void tryEnter_slotFreeButSomeoneWaits_doesNotJumpTheLine() throws Exception {
    AdmissionQueue q = AdmissionQueue.create(1, 2);
    AdmissionQueue.Ticket running = q.tryEnter();
    AdmissionQueue.Ticket waiting = q.tryEnter(Priority.LOW);
    running.close();

    AdmissionQueue.Ticket late = q.tryEnter(Priority.HIGH);

    assertThat(waiting.holdsSlot()).isTrue();
    assertThat(late.holdsSlot()).isFalse();
    assertThat(waiting.awaitSlot(() -> false)).isTrue();
  }

  @Test
  void close_ofAGrantedTicketThatGaveUp_passesTheSlotOn() throws Exception {
    AdmissionQueue q = AdmissionQueue.create(1, 2);
    AdmissionQueue.Ticket running = q.tryEnter();
    AdmissionQueue.Ticket first = q.tryEnter();
    AdmissionQueue.Ticket second = q.tryEnter();
    running.close(); // granted to first, which is not looking

    first.close();

    assertThat(second.holdsSlot()).isTrue();
    assertThat(q.running()).isEqualTo(1);
    assertThat(q.waiting()).isZero();
  }
}
