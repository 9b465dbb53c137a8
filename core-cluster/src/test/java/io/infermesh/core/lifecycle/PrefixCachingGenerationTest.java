package io.infermesh.core.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.SamplingParams;
import io.infermesh.core.engine.TestModels;
import io.infermesh.core.schedule.BatchLoop;
import io.infermesh.core.schedule.FinishReason;
import io.infermesh.core.schedule.GenerationListener;
import io.infermesh.core.schedule.GenerationRequest;
import io.infermesh.core.schedule.Priority;
import io.infermesh.core.schedule.Scheduler;
import io.infermesh.core.schedule.SchedulerConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Prefix caching on a real (random-weight) engine through the batch loop: cached prefixes never
 * change greedy output, and a hit is not computed again. Expected answers are computed before a
 * loop starts: {@link TestModels#greedy} writes the engine's first KV slots, which hold cached blocks.
 */
class PrefixCachingGenerationTest {
  private static final LlamaConfig CONFIG = TestModels.config(101, 64, 96, 2, 4, 2, 640, false);
  private static final int SLOTS = 1024;
  private static LlamaModel model;

  @BeforeAll
  static void load() throws Exception {
    model = LlamaModel.load(CONFIG, LayerRange.all(CONFIG.layers()), TestModels.random(CONFIG, 5), Device.cpu(), SLOTS);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** One request's tokens, end and cache hit. */
  private static final class Collector implements GenerationListener {
    final List<Integer> tokens = new ArrayList<>();
    final CompletableFuture<FinishReason> done = new CompletableFuture<>();
    volatile int cached;

    @Override
    public void onToken(int choice, int token, int index) {
      tokens.add(token);
    }

    @Override
    public void onPromptCached(int cachedTokens) {
      cached = cachedTokens;
    }

    @Override
    public void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens, boolean last) {
      done.complete(reason);
    }
  }

  /** A loop over the shared engine; {@code computed} counts the tokens its steps computed. */
  private static BatchLoop loop(SchedulerConfig sc, boolean prefixCache, AtomicLong computed) {
    return new BatchLoop(new Scheduler(sc, System::nanoTime, prefixCache), new ModelRunner(model),
        r -> new Thread(r, "prefix-loop"), (plan, nanos) -> computed.addAndGet(plan.tokenCount())).start();
  }

  private static Collector run(BatchLoop loop, String id, int[] prompt, int maxTokens) throws Exception {
    Collector c = new Collector();
    loop.submit(new GenerationRequest(id, prompt, maxTokens, Priority.NORMAL, SamplingParams.GREEDY, Set.of(),
        Long.MAX_VALUE), c);
    assertThat(c.done.get(60, TimeUnit.SECONDS)).isEqualTo(FinishReason.LENGTH);
    return c;
  }

  private static int[] tokens(int count, int seed) {
    return IntStream.range(0, count).map(i -> 3 + (seed * 31 + i * 17 + i * i) % (CONFIG.vocabSize() - 3)).toArray();
  }

  private static int[] concat(int[] a, int[] b) {
    return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
  }

  @Test
  void twoRequestsSharingA512TokenSystemPrompt_answerAsWithoutTheCache_andTheSecondPrefillsOnlyItsSuffix()
      throws Exception {
    SchedulerConfig sc = new SchedulerConfig(16, 8, 512, 128, SLOTS / 16, 16, CONFIG.contextLength(),
        Duration.ofSeconds(10), Duration.ofSeconds(1));
    int[] system = tokens(512, 1);
    int[] first = concat(system, tokens(21, 2));
    int[] second = concat(system, tokens(27, 3));
    int maxTokens = 12;
    List<List<Integer>> answers = new ArrayList<>();
    long secondComputed = 0;
    for (boolean cache : new boolean[] {false, true}) {
      AtomicLong computed = new AtomicLong();
      BatchLoop loop = loop(sc, cache, computed);
      try {
        Collector a = run(loop, "a", first, maxTokens);
        long before = computed.get();
        Collector b = run(loop, "b", second, maxTokens);
        secondComputed = computed.get() - before;
        answers.add(a.tokens);
        answers.add(b.tokens);
        assertThat(a.cached).isZero();
        assertThat(b.cached).isEqualTo(cache ? 512 : 0);
        assertThat(loop.stats().prefixHitTokens()).isEqualTo(cache ? 512 : 0);
        assertThat(loop.stats().kvBlocksUsed()).isZero();
      } finally {
        loop.close();
      }
    }
    assertThat(answers.get(2)).as("first request, cache on").hasSize(maxTokens).isEqualTo(answers.get(0));
    assertThat(answers.get(3)).as("second request, cache on").hasSize(maxTokens).isEqualTo(answers.get(1));
    assertThat(answers.get(1)).isEqualTo(TestModels.greedy(model, second, maxTokens)); // both loops are closed
    // its own 27 prompt tokens, then one per decode step (the last token is sampled, never computed)
    assertThat(secondComputed).isEqualTo(27 + maxTokens - 1);
  }

  @Test
  void evictionUnderBlockPressure_recomputesWhatWasEvicted_andKeepsTheAnswers() throws Exception {
    // 40 blocks of 16: each request holds 18; three prefixes in turn evict the first one's tail
    SchedulerConfig sc = new SchedulerConfig(16, 8, 512, 128, 40, 16, 512, Duration.ofSeconds(10),
        Duration.ofSeconds(1));
    int[][] prefixes = {tokens(256, 11), tokens(256, 12), tokens(256, 13)};
    int[] order = {0, 1, 2, 0, 0};
    List<int[]> prompts = new ArrayList<>();
    List<List<Integer>> expected = new ArrayList<>();
    for (int i = 0; i < order.length; i++) {
      prompts.add(concat(prefixes[order[i]], tokens(16, 20 + i)));
      expected.add(TestModels.greedy(model, prompts.get(i), 16));
    }
    AtomicLong computed = new AtomicLong();
    BatchLoop loop = loop(sc, true, computed);
    try {
      List<Integer> hits = new ArrayList<>();
      for (int i = 0; i < order.length; i++) {
        Collector c = run(loop, "r" + i, prompts.get(i), 16);
        assertThat(c.tokens).as("request %d", i).isEqualTo(expected.get(i));
        hits.add(c.cached);
      }
      assertThat(hits.subList(0, 3)).containsOnly(0);
      assertThat(hits.get(3)).as("the first prefix, partly evicted").isPositive().isLessThan(256);
      assertThat(hits.get(4)).as("the first prefix, recomputed and cached again").isEqualTo(256);
      assertThat(loop.stats().kvBlocksCached()).isLessThanOrEqualTo(40);
    } finally {
      loop.close();
    }
  }

  @Test
  void preemptedRequests_resumeFromTheirCachedBlocks_andGenerateWhatEachGeneratesAlone() throws Exception {
    // 12 blocks of 8: fewer than the requests below need at once, so some are preempted
    SchedulerConfig sc = new SchedulerConfig(16, 8, 48, 16, 12, 8, 96, Duration.ofSeconds(10), Duration.ofSeconds(1));
    List<int[]> prompts = new ArrayList<>();
    List<List<Integer>> expected = new ArrayList<>();
    for (int r = 0; r < 5; r++) {
      prompts.add(tokens(17 + 4 * r, 40 + r));
      expected.add(TestModels.greedy(model, prompts.get(r), 20));
    }
    AtomicLong computed = new AtomicLong();
    BatchLoop loop = loop(sc, true, computed);
    try {
      List<Collector> collectors = new ArrayList<>();
      for (int r = 0; r < prompts.size(); r++) {
        Collector c = new Collector();
        collectors.add(c);
        loop.submit(new GenerationRequest("p" + r, prompts.get(r), 20, r % 2 == 0 ? Priority.LOW : Priority.HIGH,
            SamplingParams.GREEDY, Set.of(), Long.MAX_VALUE), c);
      }
      for (int r = 0; r < prompts.size(); r++) {
        assertThat(collectors.get(r).done.get(60, TimeUnit.SECONDS)).isEqualTo(FinishReason.LENGTH);
        assertThat(collectors.get(r).tokens).as("request %d", r).isEqualTo(expected.get(r));
        assertThat(collectors.get(r).cached).isZero(); // distinct prompts: only their own blocks come back
      }
      assertThat(loop.stats().preemptions()).isPositive();
      assertThat(loop.stats().prefixHitTokens()).as("positions preempted sequences found cached").isPositive();
      assertThat(loop.stats().kvBlocksUsed()).isZero();
    } finally {
      loop.close();
    }
  }
}
