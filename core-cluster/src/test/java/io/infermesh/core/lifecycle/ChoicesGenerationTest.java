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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code n} choices from one shared prefill on a real (random-weight) engine: each choice is what
 * a request of its own would generate, while the prompt is computed once.
 */
class ChoicesGenerationTest {
  private static final LlamaConfig CONFIG = TestModels.config(101, 64, 96, 2, 4, 2, 96, false);
  private static final int[] PROMPT = IntStream.range(0, 21).map(i -> (11 * i + 5) % CONFIG.vocabSize()).toArray();
  private static final SchedulerConfig SCHEDULING = new SchedulerConfig(16, 8, 64, 32, 48, 8, CONFIG.contextLength(),
      Duration.ofSeconds(10), Duration.ofSeconds(1));
  private static LlamaModel model;

  @BeforeAll
  static void load() throws Exception {
    model = LlamaModel.load(CONFIG, LayerRange.all(CONFIG.layers()), TestModels.random(CONFIG, 5), Device.cpu(),
        SCHEDULING.kvBlocks() * SCHEDULING.kvBlockSize());
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** Collects every choice's tokens of one request. */
  private static final class Collector implements GenerationListener {
    final List<List<Integer>> tokens = new ArrayList<>();
    final List<FinishReason> reasons = new ArrayList<>();
    final CompletableFuture<Integer> done = new CompletableFuture<>(); // completion tokens of all choices
    private int completion;

    Collector(int choices) {
      for (int i = 0; i < choices; i++) {
        tokens.add(new ArrayList<>());
        reasons.add(null);
      }
    }

    @Override
    public void onToken(int choice, int token, int index) {
      tokens.get(choice).add(token);
    }

    @Override
    public void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens, boolean last) {
      reasons.set(choice, reason);
      completion += completionTokens;
      if (last) {
        done.complete(completion);
      }
    }
  }

  /** Runs {@code requests} on one batch loop; returns each one's collector and the tokens the engine computed. */
  private static List<Collector> run(List<GenerationRequest> requests, AtomicInteger computed) throws Exception {
    BatchLoop loop = new BatchLoop(new Scheduler(SCHEDULING, System::nanoTime), new ModelRunner(model),
        r -> new Thread(r, "batch-loop"), (plan, nanos) -> computed.addAndGet(plan.tokenCount())).start();
    try {
      List<Collector> out = new ArrayList<>();
      for (GenerationRequest r : requests) {
        Collector c = new Collector(r.choices());
        out.add(c);
        loop.submit(r, c);
      }
      for (Collector c : out) {
        c.done.get(60, TimeUnit.SECONDS);
      }
      assertThat(loop.stats().kvBlocksUsed()).isZero();
      return out;
    } finally {
      loop.close();
    }
  }

  private static List<Integer> greedyAlone(int[] prompt, int maxTokens) {
    return TestModels.greedy(model, prompt, maxTokens);
  }

  @Test
  void generate_greedyChoicesFromSharedPrefill_equalTheSingleChoiceOutput() throws Exception {
    int maxTokens = 12;
    AtomicInteger computed = new AtomicInteger();
    Collector c = run(List.of(new GenerationRequest("g", PROMPT, maxTokens, Priority.NORMAL, SamplingParams.GREEDY,
        Set.of(), Long.MAX_VALUE, 3)), computed).get(0);
    List<Integer> expected = greedyAlone(PROMPT, maxTokens);
    for (int i = 0; i < 3; i++) {
      assertThat(c.tokens.get(i)).as("choice %d", i).isEqualTo(expected);
      assertThat(c.reasons.get(i)).isEqualTo(FinishReason.LENGTH);
    }
    assertThat(c.done.get()).isEqualTo(3 * maxTokens);
    // the 21-token prompt once, then each fork's partial block (positions 16..20), then the decodes
    assertThat(computed.get()).isEqualTo(21 + 2 * 5 + 3 * (maxTokens - 1));
  }

  @Test
  void generate_seededChoices_equalSeparateRequestsWithSeedPlusIndex() throws Exception {
    int maxTokens = 16;
    long seed = 77;
    SamplingParams sampling = new SamplingParams(1.0f, 0, 1f, seed);
    AtomicInteger shared = new AtomicInteger();
    Collector together = run(List.of(new GenerationRequest("s", PROMPT, maxTokens, Priority.NORMAL, sampling,
        Set.of(), Long.MAX_VALUE, 4)), shared).get(0);
    List<GenerationRequest> separate = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      separate.add(new GenerationRequest("s" + i, PROMPT, maxTokens, Priority.NORMAL,
          new SamplingParams(1.0f, 0, 1f, seed + i), Set.of(), Long.MAX_VALUE));
    }
    AtomicInteger alone = new AtomicInteger();
    List<Collector> apart = run(separate, alone);
    for (int i = 0; i < 4; i++) {
      assertThat(together.tokens.get(i)).as("choice %d", i).hasSize(maxTokens).isEqualTo(apart.get(i).tokens.get(0));
    }
    assertThat(together.tokens).as("each choice its own random stream").doesNotHaveDuplicates();
    assertThat(shared.get()).isLessThan(alone.get() - 2 * PROMPT.length);
  }
}
