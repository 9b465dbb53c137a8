package io.infermesh.core.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.Penalties;
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
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Draft verification on a real (random-weight) engine through the batch loop: whatever the draft,
 * greedy output is token for token what the engine produces without one; the engine's own answer
 * as a draft is accepted whole in one step; a draft that diverges at token k keeps k tokens.
 */
class DraftGenerationTest {
  private static final LlamaConfig CONFIG = TestModels.config(101, 64, 96, 2, 4, 2, 128, false);
  private static final int[] PROMPT = {5, 17, 3, 44, 9, 60, 21, 8, 33, 71, 12, 42, 90, 14, 6, 27, 50, 38, 11, 64};
  private static LlamaModel model;

  @BeforeAll
  static void load() throws Exception {
    model = LlamaModel.load(CONFIG, LayerRange.all(CONFIG.layers()), TestModels.random(CONFIG, 11), Device.cpu(), 128);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** One request's tokens, end and draft report, and the loop's step count. */
  private static final class Run implements GenerationListener {
    final List<Integer> tokens = new ArrayList<>();
    final CompletableFuture<FinishReason> done = new CompletableFuture<>();
    final AtomicInteger steps = new AtomicInteger();
    int drafted = -1;
    int accepted = -1;
    int cached;

    @Override
    public void onPromptCached(int cachedTokens) {
      cached = cachedTokens;
    }

    @Override
    public void onToken(int choice, int token, int index) {
      tokens.add(token);
    }

    @Override
    public void onDraftVerified(int choice, int draftTokens, int acceptedTokens) {
      drafted = draftTokens;
      accepted = acceptedTokens;
    }

    @Override
    public void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens, boolean last) {
      done.complete(reason);
    }
  }

  /** Runs one request (8-token prefill chunks: the prompt takes three steps) and waits for its end. */
  private static Run run(GenerationRequest request) throws Exception {
    SchedulerConfig sc = new SchedulerConfig(4, 4, 256, 8, 16, 8, CONFIG.contextLength(), Duration.ofSeconds(10),
        Duration.ofSeconds(1));
    Run r = new Run();
    BatchLoop loop = new BatchLoop(new Scheduler(sc, System::nanoTime), new ModelRunner(model),
        t -> new Thread(t, "draft-loop"), (plan, nanos) -> r.steps.incrementAndGet()).start();
    try {
      loop.submit(request, r);
      r.done.get(60, TimeUnit.SECONDS);
      assertThat(loop.stats().kvBlocksUsed()).isZero();
    } finally {
      loop.close();
    }
    return r;
  }

  private static GenerationRequest request(int maxTokens, SamplingParams sampling, Set<Integer> stops, int[] draft) {
    return new GenerationRequest("d", PROMPT, maxTokens, Priority.NORMAL, sampling, stops, Long.MAX_VALUE)
        .withDraft(draft);
  }

  private static GenerationRequest greedy(int maxTokens, List<Integer> draft) {
    return request(maxTokens, SamplingParams.GREEDY, Set.of(), draft.stream().mapToInt(Integer::intValue).toArray());
  }

  @Test
  void greedy_arbitraryDraft_givesTheAnswerWithout() throws Exception {
    Run plain = run(greedy(24, List.of()));
    Run drafted = run(greedy(24, List.of(7, 7, 99, 3, 15, 42, 0, 1, 2, 3)));

    assertThat(plain.tokens).hasSize(24).isEqualTo(TestModels.greedy(model, PROMPT, 24));
    assertThat(drafted.tokens).isEqualTo(plain.tokens);
    assertThat(drafted.drafted).isEqualTo(10);
    assertThat(plain.drafted).isEqualTo(-1);
  }

  @Test
  void greedy_ownAnswerAsDraft_isAcceptedWholeInOneStep() throws Exception {
    Run plain = run(greedy(24, List.of()));
    Run drafted = run(greedy(24, plain.tokens.subList(0, 16)));

    assertThat(drafted.tokens).isEqualTo(plain.tokens);
    assertThat(drafted.accepted).isEqualTo(16);
    // 3 prefill steps (the last scores the draft and yields 17 tokens), then 7 decodes, instead of 3 + 23
    assertThat(drafted.steps.get()).isEqualTo(3 + 7);
    assertThat(plain.steps.get()).isEqualTo(3 + 23);
  }

  @Test
  void greedy_draftDivergingAtK_keepsK() throws Exception {
    Run plain = run(greedy(24, List.of()));
    List<Integer> draft = new ArrayList<>(plain.tokens.subList(0, 12));
    draft.set(5, (draft.get(5) + 1) % CONFIG.vocabSize());

    Run drafted = run(greedy(24, draft));

    assertThat(drafted.tokens).isEqualTo(plain.tokens);
    assertThat(drafted.accepted).isEqualTo(5);
  }

  @Test
  void greedy_stopTokenInsideTheAcceptedDraft_endsThereAsWithout() throws Exception {
    List<Integer> answer = run(greedy(24, List.of())).tokens;
    int at = 3;
    while (answer.subList(0, at).contains(answer.get(at))) {
      at++; // the first occurrence of a token is where decoding stops
    }
    Set<Integer> stop = Set.of(answer.get(at));
    int[] all = answer.stream().mapToInt(Integer::intValue).toArray();

    Run plain = run(request(24, SamplingParams.GREEDY, stop, new int[0]));
    Run drafted = run(request(24, SamplingParams.GREEDY, stop, all));

    assertThat(plain.done.get()).isEqualTo(FinishReason.STOP);
    assertThat(drafted.done.get()).isEqualTo(FinishReason.STOP);
    assertThat(drafted.tokens).isEqualTo(plain.tokens).isEqualTo(answer.subList(0, at + 1));
  }

  @Test
  void greedyWithPenaltiesAndBias_ownAnswerAsDraft_isAcceptedWholeAndUnchanged() throws Exception {
    SamplingParams penalized = new SamplingParams(0f, 0, 1f, 0, new Penalties(0.6f, 1.5f, Map.of(13, 2.5f)), -1);
    Run plain = run(request(20, penalized, Set.of(), new int[0]));
    int[] own = plain.tokens.stream().mapToInt(Integer::intValue).toArray();

    Run drafted = run(request(20, penalized, Set.of(), own));

    assertThat(plain.tokens).isNotEqualTo(TestModels.greedy(model, PROMPT, 20));
    assertThat(drafted.tokens).isEqualTo(plain.tokens);
    assertThat(drafted.accepted).isEqualTo(20);
  }

  @Test
  void seededSampling_withDraft_isReproducible() throws Exception {
    SamplingParams sampling = new SamplingParams(0.8f, 20, 0.95f, 77);
    int[] draft = run(request(20, sampling, Set.of(), new int[0])).tokens.stream().mapToInt(Integer::intValue)
        .toArray();

    Run first = run(request(20, sampling, Set.of(), draft));
    Run second = run(request(20, sampling, Set.of(), draft));

    assertThat(first.tokens).hasSize(20).isEqualTo(second.tokens);
    assertThat(first.drafted).isEqualTo(20);
    assertThat(first.accepted).isEqualTo(second.accepted);
  }

  @Test
  void prefixCacheOn_acceptedDraftTokens_arePublishedWithTheirOwnIdsAndReusedExactly() throws Exception {
    List<Integer> answer = TestModels.greedy(model, PROMPT, 24);
    int[] extended = new int[PROMPT.length + 12]; // the prompt, then 12 tokens the first request got from its draft
    System.arraycopy(PROMPT, 0, extended, 0, PROMPT.length);
    for (int i = 0; i < 12; i++) {
      extended[PROMPT.length + i] = answer.get(i);
    }
    SchedulerConfig sc = new SchedulerConfig(4, 4, 256, 8, 16, 8, CONFIG.contextLength(), Duration.ofSeconds(10),
        Duration.ofSeconds(1));
    Run first = new Run();
    Run second = new Run();
    BatchLoop loop = new BatchLoop(new Scheduler(sc, System::nanoTime, true), new ModelRunner(model),
        t -> new Thread(t, "draft-prefix-loop"), (plan, nanos) -> { }).start();
    try {
      loop.submit(greedy(24, answer.subList(0, 16)), first);
      first.done.get(60, TimeUnit.SECONDS);
      loop.submit(new GenerationRequest("e", extended, 8, Priority.NORMAL, SamplingParams.GREEDY, Set.of(),
          Long.MAX_VALUE), second);
      second.done.get(60, TimeUnit.SECONDS);
    } finally {
      loop.close();
    }

    assertThat(first.tokens).isEqualTo(answer);
    assertThat(first.accepted).isEqualTo(16);
    // blocks of 8: positions 16-23 hold 4 prompt tokens and 4 accepted draft tokens, published a step later
    assertThat(second.cached).isEqualTo(24);
    assertThat(second.tokens).isEqualTo(TestModels.greedy(model, extended, 8));
  }
}
