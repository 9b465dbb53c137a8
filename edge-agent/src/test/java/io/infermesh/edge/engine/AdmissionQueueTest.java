package io.infermesh.edge.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
}
