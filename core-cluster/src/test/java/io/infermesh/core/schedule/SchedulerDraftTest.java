package io.infermesh.core.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.core.engine.SamplingParams;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A draft rides with the prompt's last prefill chunk; the accepted prefix and the token after it
 * come out as if decoded one by one (stop tokens and max_tokens included), and the KV blocks of
 * rejected positions go back to the pool.
 */
class SchedulerDraftTest {
  private static final int BLOCK = 4;

  private static Scheduler scheduler(int chunk) {
    return new Scheduler(new SchedulerConfig(8, 4, 64, chunk, 16, BLOCK, 64, Duration.ofSeconds(10),
        Duration.ofSeconds(1)), System::nanoTime);
  }

  private static GenerationRequest request(int maxTokens, Set<Integer> stops, int... draft) {
    return new GenerationRequest("r", new int[] {1, 2, 3, 4, 5}, maxTokens, Priority.NORMAL, SamplingParams.GREEDY,
        stops, Long.MAX_VALUE).withDraft(draft);
  }

  private static List<Integer> tokens(List<SchedulerEvent> events) {
    return events.stream().filter(e -> e instanceof SchedulerEvent.Token).map(e -> ((SchedulerEvent.Token) e).token())
        .toList();
  }

  @Test
  void schedule_lastPrefillChunk_carriesTheDraft() {
    Scheduler s = scheduler(3);
    s.submit(request(10, Set.of(), 7, 8, 9));

    StepPlan first = s.schedule();
    assertThat(first.entries().get(0).draftTokens()).isZero();
    s.complete(first, new int[0]);
    StepPlan last = s.schedule();

    StepPlan.Entry e = last.entries().get(0);
    assertThat(e.tokens()).containsExactly(4, 5, 7, 8, 9);
    assertThat(e.draftTokens()).isEqualTo(3);
    assertThat(e.samples()).isTrue();
    assertThat(e.readSlots()).hasSize(8);
  }

  @Test
  void complete_partlyAccepted_emitsPrefixAndReplacementAndFreesRejectedBlocks() {
    Scheduler s = scheduler(16);
    s.submit(request(10, Set.of(), 7, 8, 9, 10, 11, 12));
    StepPlan plan = s.schedule();
    assertThat(s.stats().kvBlocksUsed()).isEqualTo(3); // 5 prompt + 6 draft positions

    s.complete(plan, new int[] {20}, new int[][] {{7}});

    List<SchedulerEvent> events = s.drainEvents();
    assertThat(events.get(0)).isEqualTo(new SchedulerEvent.DraftVerified("r", 0, 6, 1));
    assertThat(tokens(events)).containsExactly(7, 20);
    assertThat(s.stats().kvBlocksUsed()).isEqualTo(2); // 7 positions known, the 7th next to compute
    StepPlan decode = s.schedule();
    assertThat(decode.entries().get(0).tokens()).containsExactly(20);
    assertThat(decode.entries().get(0).startPosition()).isEqualTo(6);
    assertThat(decode.entries().get(0).draftTokens()).isZero();
  }

  @Test
  void complete_stopTokenInsideAcceptedDraft_endsThere() {
    Scheduler s = scheduler(16);
    s.submit(request(10, Set.of(8), 7, 8, 9));
    StepPlan plan = s.schedule();

    s.complete(plan, new int[] {30}, new int[][] {{7, 8, 9}});

    List<SchedulerEvent> events = s.drainEvents();
    assertThat(tokens(events)).containsExactly(7, 8);
    assertThat(events).anySatisfy(e -> assertThat(e).isEqualTo(
        new SchedulerEvent.Finished("r", 0, FinishReason.STOP, 5, 2, true)));
    assertThat(s.stats().kvBlocksUsed()).isZero();
  }

  @Test
  void complete_wholeDraftAcceptedAtMaxTokens_endsWithLength() {
    Scheduler s = scheduler(16);
    s.submit(request(3, Set.of(), 7, 8, 9));
    StepPlan plan = s.schedule();

    s.complete(plan, new int[] {40}, new int[][] {{7, 8, 9}});

    List<SchedulerEvent> events = s.drainEvents();
    assertThat(tokens(events)).containsExactly(7, 8, 9);
    assertThat(events).anySatisfy(e -> assertThat(e).isEqualTo(
        new SchedulerEvent.Finished("r", 0, FinishReason.LENGTH, 5, 3, true)));
  }

  @Test
  void complete_acceptedTokensNotInTheDraft_areRefused() {
    Scheduler s = scheduler(16);
    s.submit(request(10, Set.of(), 7, 8));
    StepPlan plan = s.schedule();

    assertThatThrownBy(() -> s.complete(plan, new int[] {1}, new int[][] {{7, 9}}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a prefix of its draft");
  }

  @Test
  void submit_draftLongerThanMaxTokens_isRefused() {
    assertThatThrownBy(() -> request(2, Set.of(), 7, 8, 9)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("exceeds max_tokens");
  }
}
