package io.infermesh.core.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.core.engine.SamplingParams;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The scheduler driven step by step with a fake model (next token = last token + 1) and a manual clock. */
class SchedulerTest {
  private final AtomicLong clock = new AtomicLong(1_000);
  private final Map<String, List<Integer>> generated = new HashMap<>();
  private final Map<String, FinishReason> finished = new HashMap<>();

  private static SchedulerConfig config(int maxQueued, int batch, int tokens, int chunk, int blocks, int blockSize) {
    return new SchedulerConfig(maxQueued, batch, tokens, chunk, blocks, blockSize, Math.min(64, blocks * blockSize),
        Duration.ofSeconds(10),
        Duration.ofMillis(500));
  }

  private static GenerationRequest request(String id, int promptLength, int maxTokens, Priority priority) {
    int[] prompt = IntStream.range(0, promptLength).map(i -> 10 + i).toArray();
    return new GenerationRequest(id, prompt, maxTokens, priority, SamplingParams.GREEDY, Set.of(999), Long.MAX_VALUE);
  }

  /** Runs one step with the fake model: every sampled token is the entry's last token + 1. */
  private StepPlan step(Scheduler s) {
    StepPlan plan = s.schedule();
    int[] sampled = plan.entries().stream().filter(StepPlan.Entry::samples)
        .mapToInt(e -> e.tokens()[e.tokens().length - 1] + 1).toArray();
    s.complete(plan, sampled);
    collect(s);
    clock.addAndGet(1_000_000);
    return plan;
  }

  private void collect(Scheduler s) {
    for (SchedulerEvent e : s.drainEvents()) {
      if (e instanceof SchedulerEvent.Token t) {
        generated.computeIfAbsent(t.requestId(), k -> new ArrayList<>()).add(t.token());
      } else if (e instanceof SchedulerEvent.Finished f) {
        finished.put(f.requestId(), f.reason());
      }
    }
  }

  private static List<String> ids(StepPlan plan) {
    return plan.entries().stream().map(StepPlan.Entry::requestId).toList();
  }

  @Test
  void schedule_requestArrivesMidGeneration_joinsRunningBatchAtNextStep() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 16, 4), clock::get);
    s.submit(request("a", 3, 5, Priority.NORMAL));
    assertThat(ids(step(s))).containsExactly("a"); // prefill
    assertThat(ids(step(s))).containsExactly("a"); // decode
    s.submit(request("b", 2, 2, Priority.NORMAL));
    StepPlan mixed = step(s);
    assertThat(ids(mixed)).containsExactly("a", "b"); // a's decode and b's prefill in one step
    assertThat(mixed.entries().get(0).tokens()).hasSize(1);
    assertThat(mixed.entries().get(1).tokens()).hasSize(2);
    while (s.hasWork()) {
      step(s);
    }
    assertThat(generated.get("a")).containsExactly(13, 14, 15, 16, 17);
    assertThat(generated.get("b")).containsExactly(12, 13);
    assertThat(finished).containsEntry("a", FinishReason.LENGTH).containsEntry("b", FinishReason.LENGTH);
    assertThat(s.stats().kvBlocksUsed()).isZero();
  }

  @Test
  void schedule_longPrompt_prefillsInChunksWithoutStallingDecodes() {
    Scheduler s = new Scheduler(config(8, 4, 8, 8, 32, 4), clock::get);
    s.submit(request("short", 2, 10, Priority.NORMAL));
    step(s);
    s.submit(request("long", 20, 1, Priority.HIGH));
    List<Integer> chunks = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      StepPlan plan = step(s);
      assertThat(ids(plan)).as("the decode runs every step").contains("short");
      plan.entries().stream().filter(e -> e.requestId().equals("long")).forEach(e -> chunks.add(e.tokens().length));
    }
    assertThat(chunks).containsExactly(7, 7, 6); // budget 8 minus the one decode token
    assertThat(generated.get("long")).containsExactly(30); // sampled only after the last chunk
  }

  @Test
  void submit_queueFull_rejectsWithRetryHint() {
    Scheduler s = new Scheduler(config(2, 4, 64, 32, 16, 4), clock::get);
    assertThat(s.submit(request("a", 2, 2, Priority.NORMAL))).isInstanceOf(Admission.Accepted.class);
    assertThat(s.submit(request("b", 2, 2, Priority.NORMAL))).isInstanceOf(Admission.Accepted.class);
    Admission third = s.submit(request("c", 2, 2, Priority.HIGH));
    assertThat(third).isInstanceOf(Admission.Rejected.class);
    assertThat(((Admission.Rejected) third).retryAfterMillis()).isEqualTo(500);
  }

  @Test
  void submit_promptPlusMaxTokensBeyondContext_failsNamingBoth() {
    Scheduler s = new Scheduler(config(2, 4, 64, 32, 16, 4), clock::get);
    assertThatThrownBy(() -> s.submit(request("a", 60, 10, Priority.NORMAL)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max_tokens")
        .hasMessageContaining("context");
  }

  @Test
  void schedule_poolExhausted_preemptsLowestPriorityLatestAndRecomputesIt() {
    // 6 blocks of 4 positions; each sequence needs a third block after 4 prompt + 4 generated tokens
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 6, 4), clock::get);
    s.submit(request("high", 4, 8, Priority.HIGH));
    clock.addAndGet(1);
    s.submit(request("low-early", 4, 6, Priority.LOW));
    clock.addAndGet(1);
    s.submit(request("normal", 4, 8, Priority.NORMAL));
    step(s);
    assertThat(s.stats().running()).isEqualTo(3);
    boolean preempted = false;
    for (int i = 0; i < 40 && s.hasWork(); i++) {
      step(s);
      if (s.stats().preemptions() > 0 && !preempted) {
        preempted = true;
        assertThat(s.stats().running()).isEqualTo(2);
        assertThat(generated.get("low-early")).hasSizeLessThan(6);
        assertThat(finished).doesNotContainKey("low-early");
      }
    }
    assertThat(preempted).isTrue();
    // the preempted sequence was recomputed and generated exactly what it would have
    assertThat(generated.get("low-early")).containsExactly(14, 15, 16, 17, 18, 19);
    assertThat(generated.get("high")).containsExactly(14, 15, 16, 17, 18, 19, 20, 21);
    assertThat(generated.get("normal")).containsExactly(14, 15, 16, 17, 18, 19, 20, 21);
    assertThat(s.stats().kvBlocksFree()).isEqualTo(6);
  }

  @Test
  void schedule_victimChoice_isLowestPriorityThenLatestArrival() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 4, 4), clock::get);
    s.submit(request("normal-1", 4, 8, Priority.NORMAL));
    clock.addAndGet(1);
    s.submit(request("normal-2", 4, 8, Priority.NORMAL));
    step(s); // each holds 2 blocks after prefill (4 prompt + 1 reserved position)
    while (s.stats().preemptions() == 0) {
      step(s);
    }
    StepPlan after = s.schedule();
    assertThat(ids(after)).containsExactly("normal-1");
  }

  @Test
  void schedule_noFreeBlocks_doesNotAdmit() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 4, 4), clock::get);
    s.submit(request("big", 15, 1, Priority.NORMAL));
    s.submit(request("next", 4, 1, Priority.HIGH));
    assertThat(ids(s.schedule())).containsExactly("next"); // big needs all 4 blocks; 3 are free
    assertThat(s.stats().queued()).containsEntry(Priority.NORMAL, 1);
    Scheduler t = new Scheduler(config(8, 4, 64, 32, 4, 4), clock::get);
    t.submit(request("big", 15, 1, Priority.HIGH));
    t.submit(request("next", 4, 1, Priority.NORMAL));
    assertThat(ids(t.schedule())).containsExactly("big"); // 4 blocks taken: next waits
    assertThat(t.stats().queued()).containsEntry(Priority.NORMAL, 1);
  }

  @Test
  void schedule_lowPriorityWaitedLong_isAgedAheadOfNewerNormal() {
    Scheduler s = new Scheduler(config(8, 1, 64, 32, 16, 4), clock::get);
    s.submit(request("busy", 2, 1, Priority.HIGH));
    s.submit(request("old-low", 2, 1, Priority.LOW));
    clock.addAndGet(Duration.ofSeconds(25).toNanos()); // two aging periods: LOW counts as HIGH
    s.submit(request("new-normal", 2, 1, Priority.NORMAL));
    assertThat(ids(step(s))).containsExactly("busy");
    assertThat(ids(step(s))).containsExactly("old-low");
    assertThat(ids(step(s))).containsExactly("new-normal");
  }

  @Test
  void schedule_withoutAging_servesHigherPriorityFirst() {
    Scheduler s = new Scheduler(config(8, 1, 64, 32, 16, 4), clock::get);
    s.submit(request("low", 2, 1, Priority.LOW));
    s.submit(request("normal", 2, 1, Priority.NORMAL));
    s.submit(request("high", 2, 1, Priority.HIGH));
    assertThat(ids(step(s))).containsExactly("high");
    assertThat(ids(step(s))).containsExactly("normal");
    assertThat(ids(step(s))).containsExactly("low");
  }

  @Test
  void cancel_runningRequest_freesBlocksAtOnce() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 16, 4), clock::get);
    s.submit(request("a", 9, 20, Priority.NORMAL));
    step(s);
    assertThat(s.stats().kvBlocksUsed()).isEqualTo(3);
    assertThat(s.cancel("a")).isTrue();
    assertThat(s.stats().kvBlocksUsed()).isZero();
    collect(s);
    assertThat(finished).containsEntry("a", FinishReason.CANCELLED);
    assertThat(s.schedule().isEmpty()).isTrue();
    assertThat(s.cancel("a")).isFalse();
  }

  @Test
  void cancel_betweenScheduleAndComplete_dropsItsResult() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 16, 4), clock::get);
    s.submit(request("a", 2, 5, Priority.NORMAL));
    StepPlan plan = s.schedule();
    s.cancel("a");
    s.complete(plan, new int[] {42});
    collect(s);
    assertThat(generated).doesNotContainKey("a");
    assertThat(s.stats().kvBlocksUsed()).isZero();
  }

  @Test
  void schedule_deadlinePassed_finishesAndFreesBlocks() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 16, 4), clock::get);
    long deadline = clock.get() + 1_500_000;
    s.submit(new GenerationRequest("a", new int[] {1, 2, 3}, 50, Priority.NORMAL, SamplingParams.GREEDY, Set.of(),
        deadline));
    step(s);
    step(s);
    assertThat(finished).isEmpty();
    step(s); // the clock is past the deadline when this step is planned
    assertThat(finished).containsEntry("a", FinishReason.DEADLINE_EXCEEDED);
    assertThat(s.stats().kvBlocksUsed()).isZero();
    assertThat(s.hasWork()).isFalse();
  }

  @Test
  void complete_stopToken_finishesWithStop() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 16, 4), clock::get);
    s.submit(new GenerationRequest("a", new int[] {7}, 10, Priority.NORMAL, SamplingParams.GREEDY, Set.of(9),
        Long.MAX_VALUE));
    while (s.hasWork()) {
      step(s);
    }
    assertThat(generated.get("a")).containsExactly(8, 9);
    assertThat(finished).containsEntry("a", FinishReason.STOP);
  }

  @Test
  void schedule_entries_writeAndReadThroughTheBlockTable() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 16, 4), clock::get);
    s.submit(request("a", 6, 3, Priority.NORMAL));
    StepPlan prefill = s.schedule();
    StepPlan.Entry e = prefill.entries().get(0);
    assertThat(e.startPosition()).isZero();
    assertThat(e.readSlots()).containsExactly(e.writeSlots());
    assertThat(e.samples()).isTrue();
    s.complete(prefill, new int[] {1});
    StepPlan.Entry decode = s.schedule().entries().get(0);
    assertThat(decode.startPosition()).isEqualTo(6);
    assertThat(decode.tokens()).containsExactly(1);
    assertThat(decode.readSlots()).startsWith(e.writeSlots()).hasSize(7);
  }

  /** The fake model's answer to {@code plan}. */
  private static int[] answer(StepPlan plan) {
    return plan.entries().stream().filter(StepPlan.Entry::samples)
        .mapToInt(e -> e.tokens()[e.tokens().length - 1] + 1).toArray();
  }

  @Test
  void schedule_planInFlight_nextPlanTakesOnlyOtherSequences() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 16, 4), clock::get);
    s.submit(request("a", 2, 3, Priority.NORMAL));
    s.submit(request("b", 2, 3, Priority.NORMAL));
    StepPlan first = s.schedule(1);
    StepPlan second = s.schedule(1);
    assertThat(ids(first)).containsExactly("a");
    assertThat(ids(second)).containsExactly("b");
    assertThat(s.schedule(1).isEmpty()).as("both sequences in flight").isTrue();
    assertThat(s.plansInFlight()).isEqualTo(2);
    s.complete(second, answer(second)); // micro-batches may come back in any order
    assertThat(ids(s.schedule(1))).containsExactly("b");
    s.complete(first, answer(first));
    collect(s);
    assertThat(generated).containsEntry("a", List.of(12)).containsEntry("b", List.of(12));
    assertThat(s.plansInFlight()).isEqualTo(1);
  }

  @Test
  void schedule_poolEmptyAndOnlyOtherSequenceInFlight_waitsInsteadOfPreemptingIt() {
    // 3 blocks of 4 positions; both prompts fill one block, the decode at position 4 needs a second
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 3, 4), clock::get);
    s.submit(request("high", 4, 8, Priority.HIGH));
    clock.addAndGet(1);
    s.submit(request("low", 4, 8, Priority.LOW));
    step(s); // prefill both: 1 block each, 1 free
    StepPlan highDecode = s.schedule(1); // takes the last free block; in flight
    assertThat(ids(highDecode)).containsExactly("high");
    StepPlan lowDecode = s.schedule(1); // needs a block: the only other holder is in flight
    assertThat(lowDecode.isEmpty()).isTrue();
    assertThat(s.stats().preemptions()).isEqualTo(1);
    assertThat(s.stats().queued()).containsEntry(Priority.LOW, 1);
    s.complete(highDecode, answer(highDecode));
    collect(s);
    assertThat(generated.get("high")).containsExactly(14, 15);
    assertThat(s.stats().kvBlocksUsed()).isEqualTo(2);
  }

  @Test
  void cancel_whileInFlightThenSameIdResubmitted_oldResultIsNotApplied() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 16, 4), clock::get);
    s.submit(request("a", 2, 5, Priority.NORMAL));
    StepPlan old = s.schedule();
    s.cancel("a");
    s.submit(request("a", 3, 5, Priority.NORMAL));
    StepPlan fresh = s.schedule();
    assertThat(ids(fresh)).containsExactly("a");
    s.complete(old, new int[] {99});
    s.complete(fresh, answer(fresh));
    collect(s);
    assertThat(generated.get("a")).containsExactly(13);
  }

  @Test
  void failAll_withPlansInFlight_laterCompletionsAreIgnored() {
    Scheduler s = new Scheduler(config(8, 4, 64, 32, 16, 4), clock::get);
    s.submit(request("a", 2, 5, Priority.NORMAL));
    StepPlan plan = s.schedule();
    s.failAll();
    s.complete(plan, new int[] {5});
    collect(s);
    assertThat(finished).containsEntry("a", FinishReason.FAILED);
    assertThat(generated).doesNotContainKey("a");
    assertThat(s.plansInFlight()).isZero();
    assertThat(s.stats().kvBlocksUsed()).isZero();
  }
}
