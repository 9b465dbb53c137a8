package io.infermesh.core.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.core.engine.SamplingParams;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Requests with several choices (OpenAI {@code n}), driven step by step with a fake model whose
 * next token is the entry's last token + 1 + its seed, so choice {@code i} (seed {@code i}) counts
 * in steps of {@code i + 1} and every token shows which choice's sampler drew it.
 */
class SchedulerChoicesTest {
  private final Map<String, List<Integer>> generated = new HashMap<>(); // "<request>/<choice>"
  private final List<SchedulerEvent.Finished> finished = new ArrayList<>();

  private static Scheduler scheduler(int blocks, int blockSize) {
    return new Scheduler(new SchedulerConfig(8, 8, 64, 32, blocks, blockSize, Math.min(64, blocks * blockSize),
        Duration.ofSeconds(10), Duration.ofMillis(500)), () -> 0L);
  }

  private static GenerationRequest request(String id, int promptLength, int maxTokens, int choices) {
    int[] prompt = IntStream.range(0, promptLength).map(i -> 10 + i).toArray();
    return new GenerationRequest(id, prompt, maxTokens, Priority.NORMAL, SamplingParams.GREEDY, Set.of(999),
        Long.MAX_VALUE, choices);
  }

  private static int[] answer(StepPlan plan) {
    return plan.entries().stream().filter(StepPlan.Entry::samples)
        .mapToInt(e -> e.tokens()[e.tokens().length - 1] + 1 + (int) e.sampling().seed()).toArray();
  }

  private StepPlan step(Scheduler s) {
    StepPlan plan = s.schedule();
    s.complete(plan, answer(plan));
    collect(s);
    return plan;
  }

  /** Steps until every request has left. */
  private void drain(Scheduler s) {
    while (s.hasWork()) {
      step(s);
    }
  }

  private void collect(Scheduler s) {
    for (SchedulerEvent e : s.drainEvents()) {
      if (e instanceof SchedulerEvent.Token t) {
        generated.computeIfAbsent(t.requestId() + "/" + t.choice(), k -> new ArrayList<>()).add(t.token());
      } else if (e instanceof SchedulerEvent.Finished f) {
        finished.add(f);
      }
    }
  }

  private static List<String> ids(StepPlan plan) {
    return plan.entries().stream().map(StepPlan.Entry::requestId).toList();
  }

  private static StepPlan.Entry entry(StepPlan plan, String id) {
    return plan.entries().stream().filter(e -> e.requestId().equals(id)).findFirst().orElseThrow();
  }

  @Test
  void schedule_threeChoices_prefillOnceThenForksShareTheWholeBlocks() {
    Scheduler s = scheduler(16, 4);
    s.submit(request("a", 10, 3, 3));
    StepPlan prefill = step(s);
    assertThat(ids(prefill)).containsExactly("a");
    assertThat(prefill.tokenCount()).isEqualTo(10);

    StepPlan forked = step(s);
    assertThat(ids(forked)).containsExactlyInAnyOrder("a", "a#1", "a#2");
    long[] prefix = Arrays.copyOf(prefill.entries().get(0).writeSlots(), 8); // positions 0..7: two whole blocks
    for (String fork : List.of("a#1", "a#2")) {
      StepPlan.Entry e = entry(forked, fork);
      assertThat(e.startPosition()).as("%s computes only the partial block", fork).isEqualTo(8);
      assertThat(e.tokens()).containsExactly(18, 19);
      assertThat(Arrays.copyOf(e.readSlots(), 8)).as("%s reads the shared prefix", fork).containsExactly(prefix);
      assertThat(e.writeSlots()).doesNotContain(prefill.entries().get(0).writeSlots());
    }
    assertThat(entry(forked, "a#1").writeSlots()).doesNotContain(entry(forked, "a#2").writeSlots());
    assertThat(entry(forked, "a#2").sampling().seed()).isEqualTo(2);
    // choice 0: 3 blocks (positions 0..10); each fork: the 2 shared + 1 of its own
    assertThat(s.stats().kvBlocksUsed()).isEqualTo(5);

    drain(s);
    assertThat(generated).containsEntry("a/0", List.of(20, 21, 22)).containsEntry("a/1", List.of(21, 23, 25))
        .containsEntry("a/2", List.of(22, 25, 28));
    assertThat(finished).extracting(SchedulerEvent.Finished::reason).containsOnly(FinishReason.LENGTH).hasSize(3);
    assertThat(finished).extracting(SchedulerEvent.Finished::last).containsExactly(false, false, true);
    assertThat(finished).extracting(SchedulerEvent.Finished::promptTokens).containsOnly(10);
    assertThat(s.stats().kvBlocksUsed()).isZero();
  }

  @Test
  void schedule_choicesFitOnlyWithSharedBlocksCountedOnce_areAdmitted() {
    // prompt 9, blocks of 4: each choice needs 3 blocks, 2 of them the shared prefix: 3 + 3 * 1 = 6
    Scheduler s = scheduler(6, 4);
    s.submit(request("a", 9, 2, 4));
    assertThat(ids(step(s))).containsExactly("a");
    drain(s);
    assertThat(generated).containsKeys("a/0", "a/1", "a/2", "a/3");
    assertThat(s.stats().preemptions()).isZero();
  }

  @Test
  void schedule_choicesNeedMoreBlocksThanFree_waitUntilTheyAre() {
    Scheduler s = scheduler(6, 4);
    s.submit(request("x", 2, 3, 1));
    step(s); // x holds 1 block: 5 free, the 4 choices need 6
    s.submit(request("a", 9, 2, 4));
    assertThat(ids(step(s))).containsExactly("x");
    assertThat(s.stats().queued()).containsEntry(Priority.NORMAL, 1);
    assertThat(s.stats().kvBlocksUsed()).isEqualTo(1);
    assertThat(ids(step(s))).containsExactly("x"); // its last token
    assertThat(ids(step(s))).containsExactly("a"); // x finished: its block is free
    drain(s);
    assertThat(generated).containsKeys("a/0", "a/1", "a/2", "a/3");
    assertThat(s.stats().preemptions()).isZero();
  }

  @Test
  void cancel_afterFork_finishesEveryChoiceAndFreesEveryBlock() {
    Scheduler s = scheduler(16, 4);
    s.submit(request("a", 10, 8, 3));
    step(s);
    step(s);
    assertThat(s.cancel("a")).isTrue();
    collect(s);
    assertThat(finished).extracting(SchedulerEvent.Finished::choice).containsExactlyInAnyOrder(0, 1, 2);
    assertThat(finished).extracting(SchedulerEvent.Finished::reason).containsOnly(FinishReason.CANCELLED);
    assertThat(finished).filteredOn(SchedulerEvent.Finished::last).hasSize(1);
    assertThat(finished.get(2).last()).isTrue();
    assertThat(s.stats().kvBlocksUsed()).isZero();
    assertThat(s.hasWork()).isFalse();
  }

  @Test
  void cancel_whilePrefillInFlight_reportsChoicesNeverForkedAsFinished() {
    Scheduler s = scheduler(16, 4);
    s.submit(request("a", 10, 8, 3));
    StepPlan prefill = s.schedule();
    s.cancel("a");
    s.complete(prefill, answer(prefill));
    collect(s);
    assertThat(finished).extracting(SchedulerEvent.Finished::choice).containsExactly(0, 1, 2);
    assertThat(finished).extracting(SchedulerEvent.Finished::completionTokens).containsOnly(0);
    assertThat(finished).extracting(SchedulerEvent.Finished::last).containsExactly(false, false, true);
    assertThat(generated).isEmpty();
    assertThat(s.schedule().isEmpty()).isTrue();
    assertThat(s.stats().kvBlocksUsed()).isZero();
  }

  @Test
  void cancelChoice_oneChoice_othersRunToTheEnd() {
    Scheduler s = scheduler(16, 4);
    s.submit(request("a", 10, 4, 3));
    step(s);
    step(s);
    assertThat(s.cancel("a", 1)).isTrue();
    collect(s);
    assertThat(finished).singleElement().satisfies(f -> {
      assertThat(f.choice()).isEqualTo(1);
      assertThat(f.reason()).isEqualTo(FinishReason.CANCELLED);
      assertThat(f.last()).isFalse();
    });
    drain(s);
    assertThat(generated.get("a/0")).containsExactly(20, 21, 22, 23);
    assertThat(generated.get("a/2")).containsExactly(22, 25, 28, 31);
    assertThat(finished).last().satisfies(f -> assertThat(f.last()).isTrue());
    assertThat(s.stats().kvBlocksUsed()).isZero();
  }

  @Test
  void cancelChoice_choiceZeroBeforeFork_theOthersPrefillAlone() {
    Scheduler s = scheduler(16, 4);
    s.submit(request("a", 10, 2, 2));
    s.cancel("a", 0);
    drain(s);
    assertThat(generated).doesNotContainKey("a/0").containsEntry("a/1", List.of(21, 23));
    assertThat(finished).extracting(SchedulerEvent.Finished::last).containsExactly(false, true);
  }

  @Test
  void schedule_promptWithinOneBlock_choicesStartTogetherWithoutSharing() {
    Scheduler s = scheduler(16, 4);
    s.submit(request("a", 3, 2, 2));
    StepPlan first = step(s);
    assertThat(ids(first)).containsExactly("a", "a#1");
    assertThat(first.entries()).allSatisfy(e -> assertThat(e.tokens()).hasSize(3));
    drain(s);
    assertThat(generated).containsEntry("a/0", List.of(13, 14)).containsEntry("a/1", List.of(14, 16));
  }

  @Test
  void schedule_forksOutgrowThePool_arePreemptedAndRecomputedWithTheSameTokens() {
    // 5 blocks of 4 (context 20): two choices of a 9-token prompt growing to 17 positions cannot both stay
    Scheduler s = scheduler(5, 4);
    s.submit(request("a", 9, 8, 2));
    drain(s);
    assertThat(s.stats().preemptions()).isPositive();
    assertThat(generated.get("a/0")).containsExactly(19, 20, 21, 22, 23, 24, 25, 26);
    assertThat(generated.get("a/1")).containsExactly(20, 22, 24, 26, 28, 30, 32, 34);
    assertThat(s.stats().kvBlocksUsed()).isZero();
  }

  @Test
  void submit_idWithChoiceSeparator_isRefused() {
    Scheduler s = scheduler(16, 4);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.submit(request("a#1", 3, 2, 1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'#'");
  }
}
