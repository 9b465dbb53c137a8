package io.infermesh.edge.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.Priority;
import org.junit.jupiter.api.Test;

/** When a batch line may start: nothing interactive in the engine, and one slot left free. */
class SpareCapacityTest {
  @Test
  void idleEngine_aLineMayStart_butNeverTheLastFreeSlot() {
    AdmissionQueue queue = AdmissionQueue.create(3, 4);
    SpareCapacity spare = SpareCapacity.of(queue);

    assertThat(spare.test(0)).isTrue();
    AdmissionQueue.Ticket first = queue.tryEnter(Priority.LOW);
    assertThat(spare.test(1)).isTrue();
    AdmissionQueue.Ticket second = queue.tryEnter(Priority.LOW);
    assertThat(spare.test(2)).as("two of three slots: the third stays free").isFalse();
    first.close();
    second.close();
  }

  @Test
  void interactiveRequestInTheEngineOrWaiting_noLineStarts() {
    AdmissionQueue queue = AdmissionQueue.create(2, 4);
    SpareCapacity spare = SpareCapacity.of(queue);
    AdmissionQueue.Ticket interactive = queue.tryEnter(Priority.NORMAL);

    assertThat(spare.test(0)).isFalse();
    AdmissionQueue.Ticket line = queue.tryEnter(Priority.LOW);
    AdmissionQueue.Ticket waiting = queue.tryEnter(Priority.HIGH);
    assertThat(queue.waiting()).isEqualTo(1);
    assertThat(spare.test(1)).isFalse();
    waiting.close();
    line.close();
    interactive.close();
    assertThat(spare.test(0)).isTrue();
  }

  @Test
  void singleSlotEngine_oneLineAtATime() {
    AdmissionQueue queue = AdmissionQueue.create(1, 4);
    SpareCapacity spare = SpareCapacity.of(queue);

    assertThat(spare.test(0)).isTrue();
    AdmissionQueue.Ticket line = queue.tryEnter(Priority.LOW);
    assertThat(spare.test(1)).isFalse();
    line.close();
  }
}
