package io.infermesh.core.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.core.engine.SamplingParams;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Prefix caching in the scheduler, step by step with a fake model (next token = last token + 1). */
class SchedulerPrefixCacheTest {
  private final List<SchedulerEvent> events = new ArrayList<>();

  private static SchedulerConfig config(int blocks, int blockSize) {
    return new SchedulerConfig(8, 4, 64, 64, blocks, blockSize, blocks * blockSize, Duration.ofSeconds(10),
        Duration.ofMillis(500));
  }

  private static GenerationRequest request(String id, int[] prompt, int maxTokens) {
    return new GenerationRequest(id, prompt, maxTokens, Priority.NORMAL, SamplingParams.GREEDY, Set.of(), Long.MAX_VALUE);
  }

  private static int[] prompt(int shared, int own, int ownFrom) {
    return IntStream.concat(IntStream.range(10, 10 + shared), IntStream.range(ownFrom, ownFrom + own)).toArray();
  }

  private StepPlan step(Scheduler s) {
    StepPlan plan = s.schedule();
    int[] sampled = plan.entries().stream().filter(StepPlan.Entry::samples)
        .mapToInt(e -> e.tokens()[e.tokens().length - 1] + 1).toArray();
    s.complete(plan, sampled);
    events.addAll(s.drainEvents());
    return plan;
  }

  private void drain(Scheduler s) {
    while (s.hasWork()) {
      step(s);
    }
  }

  private int cachedTokens(String id) {
    return events.stream().filter(e -> e instanceof SchedulerEvent.PromptCached && e.requestId().equals(id))
        .mapToInt(e -> ((SchedulerEvent.PromptCached) e).cachedTokens()).sum();
  }

  @Test
  void secondRequest_startsAfterTheSharedWholeBlocks_andReportsThem() {
    Scheduler s = new Scheduler(config(16, 4), () -> 0, true);
    s.submit(request("a", prompt(10, 3, 100), 2));
    drain(s);
    s.submit(request("b", prompt(10, 3, 200), 2));
    StepPlan first = step(s);
    assertThat(first.entries().get(0).startPosition()).isEqualTo(8); // two whole blocks of the 10 shared tokens
    assertThat(first.entries().get(0).tokens()).hasSize(5);
    drain(s);
    assertThat(cachedTokens("a")).isZero();
    assertThat(cachedTokens("b")).isEqualTo(8);
    assertThat(s.stats().prefixHitTokens()).isEqualTo(8);
    assertThat(s.stats().prefixQueriedTokens()).isEqualTo(26);
    assertThat(s.stats().kvBlocksUsed()).isZero();
  }

  @Test
  void wholePromptCached_itsLastTokenIsStillComputed() {
    Scheduler s = new Scheduler(config(16, 4), () -> 0, true);
    int[] p = prompt(8, 0, 0);
    s.submit(request("a", p, 1));
    drain(s);
    s.submit(request("b", p, 1));
    StepPlan first = step(s);
    assertThat(first.entries().get(0).startPosition()).isEqualTo(4); // the second block holds the last token
    assertThat(first.entries().get(0).samples()).isTrue();
  }

  @Test
  void admission_countsAHitOnBlocksAnotherSequenceHoldsAsNeedingNoFreeBlock() {
    // 6 blocks of 4; a holds 4 (13 prompt + 2 generated), b needs 4 of which 3 are a's
    Scheduler s = new Scheduler(config(6, 4), () -> 0, true);
    s.submit(request("a", prompt(12, 1, 100), 3));
    step(s); // a's prefill publishes its 3 whole blocks
    s.submit(request("b", prompt(12, 1, 200), 3));
    StepPlan both = step(s);
    assertThat(both.entries()).extracting(StepPlan.Entry::requestId).containsExactly("a", "b");
    assertThat(both.entries().get(1).startPosition()).isEqualTo(12);
    drain(s);
    assertThat(s.stats().preemptions()).isZero();
  }

  @Test
  void withoutPrefixCaching_nothingIsCached() {
    Scheduler s = new Scheduler(config(16, 4), () -> 0);
    s.submit(request("a", prompt(10, 3, 100), 2));
    drain(s);
    s.submit(request("b", prompt(10, 3, 200), 2));
    assertThat(step(s).entries().get(0).startPosition()).isZero();
    assertThat(s.stats().kvBlocksCached()).isZero();
    assertThat(s.stats().prefixQueriedTokens()).isZero();
  }

  @Test
  void preemptedSequence_comesBackToItsCachedBlocks() {
    // 6 blocks of 4: a (low) and b (high) grow until a is preempted; b then evicts one of a's
    // cached blocks, and a comes back to the other two
    Scheduler s = new Scheduler(new SchedulerConfig(8, 4, 64, 64, 6, 4, 24, Duration.ofSeconds(10),
        Duration.ofMillis(500)), () -> 0, true);
    s.submit(new GenerationRequest("b", prompt(0, 5, 500), 12, Priority.HIGH, SamplingParams.GREEDY, Set.of(),
        Long.MAX_VALUE));
    s.submit(request("a", prompt(0, 8, 100), 8));
    StepPlan plan = step(s);
    assertThat(plan.entries()).extracting(StepPlan.Entry::requestId).containsExactly("b", "a");
    while (s.stats().preemptions() == 0) {
      step(s);
    }
    List<Integer> resumedAt = new ArrayList<>();
    while (s.hasWork()) {
      step(s).entries().stream().filter(e -> e.requestId().equals("a") && e.tokens().length > 1)
          .forEach(e -> resumedAt.add(e.startPosition()));
    }
    assertThat(resumedAt).containsExactly(8);
    List<Integer> a = events.stream().filter(e -> e instanceof SchedulerEvent.Token t && t.requestId().equals("a"))
        .map(e -> ((SchedulerEvent.Token) e).token()).toList();
    assertThat(a).containsExactly(108, 109, 110, 111, 112, 113, 114, 115);
    assertThat(cachedTokens("a")).isZero(); // its first admission found nothing
  }
}
