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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The batch loop on a real (random-weight) engine: batching and preemption never change greedy output. */
class BatchedGenerationTest {
  private static final LlamaConfig CONFIG = TestModels.config(101, 64, 96, 2, 4, 2, 96, false);
  private static LlamaModel model;

  @BeforeAll
  static void load() throws Exception {
    // 12 blocks of 8 positions: fewer than the requests below need at once, so some are preempted
    model = LlamaModel.load(CONFIG, LayerRange.all(CONFIG.layers()), TestModels.random(CONFIG, 3), Device.cpu(), 96);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static List<Integer> greedyAlone(int[] prompt, int maxTokens) {
    return TestModels.greedy(model, prompt, maxTokens);
  }

  /** Collects one request's tokens. */
  private static final class Collector implements GenerationListener {
    final List<Integer> tokens = new ArrayList<>();
    final CompletableFuture<FinishReason> done = new CompletableFuture<>();

    @Override
    public void onToken(int choice, int token, int index) {
      tokens.add(token);
    }

    @Override
    public void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens, boolean last) {
      done.complete(reason);
    }
  }

  @Test
  void batchLoop_concurrentRequestsWithPreemption_generateWhatEachGeneratesAlone() throws Exception {
    int requests = 6;
    int maxTokens = 20;
    List<int[]> prompts = new ArrayList<>();
    List<List<Integer>> expected = new ArrayList<>();
    for (int r = 0; r < requests; r++) {
      int[] prompt = new int[5 + 3 * r];
      for (int i = 0; i < prompt.length; i++) {
        prompt[i] = (7 * r + 13 * i + 1) % CONFIG.vocabSize();
      }
      prompts.add(prompt);
      expected.add(greedyAlone(prompt, maxTokens));
    }
    SchedulerConfig sc = new SchedulerConfig(16, 8, 24, 8, 12, 8, CONFIG.contextLength(), Duration.ofSeconds(10),
        Duration.ofSeconds(1));
    Scheduler scheduler = new Scheduler(sc, System::nanoTime);
    BatchLoop loop = new BatchLoop(scheduler, new ModelRunner(model), r -> new Thread(r, "batch-loop"),
        BatchLoop.StepObserver.NONE).start();
    try {
      List<Collector> collectors = new ArrayList<>();
      for (int r = 0; r < requests; r++) {
        Collector c = new Collector();
        collectors.add(c);
        loop.submit(new GenerationRequest("r" + r, prompts.get(r), maxTokens, r % 2 == 0 ? Priority.LOW : Priority.HIGH,
            SamplingParams.GREEDY, Set.of(), Long.MAX_VALUE), c);
      }
      for (int r = 0; r < requests; r++) {
        assertThat(collectors.get(r).done.get(60, TimeUnit.SECONDS)).isEqualTo(FinishReason.LENGTH);
        assertThat(collectors.get(r).tokens).as("request %d", r).isEqualTo(expected.get(r));
      }
      assertThat(loop.stats().preemptions()).isPositive();
      assertThat(loop.stats().kvBlocksUsed()).isZero();
    } finally {
      loop.close();
    }
  }

  @Test
  void batchLoop_seededSampling_isReproducible() throws Exception {
    SamplingParams sampling = new SamplingParams(0.9f, 20, 0.95f, 1234);
    List<List<Integer>> runs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      Scheduler scheduler = new Scheduler(SchedulerConfig.defaults(CONFIG.contextLength()).withKv(12, 8),
          System::nanoTime);
      BatchLoop loop = new BatchLoop(scheduler, new ModelRunner(model), r -> new Thread(r, "batch-loop"),
          BatchLoop.StepObserver.NONE).start();
      try {
        Collector c = new Collector();
        loop.submit(new GenerationRequest("s", new int[] {1, 2, 3}, 30, Priority.NORMAL, sampling, Set.of(),
            Long.MAX_VALUE), c);
        c.done.get(30, TimeUnit.SECONDS);
        runs.add(c.tokens);
      } finally {
        loop.close();
      }
    }
    assertThat(runs.get(0)).hasSize(30).isEqualTo(runs.get(1));
    assertThat(runs.get(0)).isNotEqualTo(greedyAlone(new int[] {1, 2, 3}, 30));
  }
}
