package io.infermesh.edge.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.models.chat.ChatTemplate;
import io.infermesh.models.chat.ChatTurn;
import io.infermesh.models.chat.ToolCalls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class LlamaEngineTest {
  private static final Prompt HELLO = TinyModel.engine().renderChat(List.of(ChatMessage.of(Role.USER, "Hello there")));

  private static SamplingParams greedy(int maxTokens) {
    return new SamplingParams(maxTokens, 0f, 1f, 0, OptionalLong.empty(), List.of());
  }

  @Test
  void load_wrongSha256_failsNamingTheKey() {
    EdgeConfig.Model m = TinyModel.modelConfig();
    EdgeConfig.Model wrong = m.toBuilder().sha256("0".repeat(64)).parallel(1).build();

    assertThatThrownBy(() -> LlamaEngine.load(wrong, 2))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith("model.sha256: ")
        .hasMessageContaining("0".repeat(64));
  }

  @Test
  void load_missingFile_failsNamingTheKey() {
    EdgeConfig.Model missing = EdgeConfig.Model.DEFAULT;
    EdgeConfig.Model elsewhere = EdgeConfig.Model.builder().path(Path.of("/nonexistent/m.gguf")).contextSize(512)
        .threads(1).defaultMaxTokens(16).build();

    assertThatThrownBy(() -> LlamaEngine.load(missing, 2)).hasMessageStartingWith("model.path: not set");
    assertThatThrownBy(() -> LlamaEngine.load(elsewhere, 2)).hasMessageStartingWith("model.path: no readable file");
  }

  @Test
  void chatTemplate_checkpointWithoutOneOrUnrunnable_failsNamingTheKey() {
    GgufFacts none = new GgufFacts(Optional.empty(), true, 4, 512, "<s>", "</s>");
    GgufFacts unrunnable = new GgufFacts(Optional.of("{% include 'x' %}"), true, 4, 512, "<s>", "</s>");

    assertThatThrownBy(() -> LlamaEngine.chatTemplate("checkpoint", none)).isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith("model.chat_template: checkpoint: the model has no chat template of its own");
    assertThatThrownBy(() -> LlamaEngine.chatTemplate("checkpoint", unrunnable)).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("the 'include' statement is not supported");
  }

  @Test
  void render_toolFormsAndTemplateThatRaises_reachTheTemplateAndRefuseAsPromptException() throws Exception {
    // a template that writes calls as <tool_call> blocks renders tools itself
    GgufFacts facts = new GgufFacts(Optional.of("{# calls: <tool_call>{\"name\": …, \"arguments\": …} #}"
        + "{{ bos_token }}{% for m in messages %}{{ m.role }}:"
        + "{{ m.tool_calls | length if m.tool_calls is defined else m.content }};{% endfor %}{{ tools | length }}"
        + "{% if messages | length > 3 %}{{ raise_exception('too long') }}{% endif %}"), true, 4, 512, "<s>", "</s>");
    ChatTemplate template = LlamaEngine.chatTemplate("checkpoint", facts);
    List<ChatMessage> chat = List.of(
        new ChatMessage(Role.SYSTEM, "fallback text", "", Optional.of(new ToolForm(Optional.empty(), List.of("{}")))),
        ChatMessage.of(Role.USER, "hi"),
        new ChatMessage(Role.ASSISTANT, "<tool_call>…", "",
            Optional.of(ToolForm.of(ChatTurn.assistant("", List.of(new ToolCalls.Call("f", "{}", "call_1")))))));

    // the added system turn only carries the tools; the leading bos_token is the tokenizer's
    assertThat(LlamaEngine.render(template, chat)).isEqualTo("user:hi;assistant:1;1");
    List<ChatMessage> longer = new ArrayList<>(chat);
    longer.add(ChatMessage.of(Role.USER, "a"));
    longer.add(ChatMessage.of(Role.USER, "b"));
    assertThatThrownBy(() -> LlamaEngine.render(template, longer)).isInstanceOf(PromptException.class)
        .hasMessage("messages: the model's chat template refused the chat: too long");
  }

  @Test
  void load_tinyModel_readsChatmlTemplateAndVersion() throws Exception {
    ModelInfo info = TinyModel.engine().info();

    assertThat(info.chatTemplate()).isEqualTo("chatml");
    assertThat(info.version()).isEqualTo(ModelDigest.sha256(TinyModel.path()).substring(0, 12));
    assertThat(info.contextSize()).isEqualTo(TinyModel.CONTEXT);
    assertThat(HELLO.text()).isEqualTo("<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n");
    assertThat(HELLO.tokens()).isGreaterThan(5).isLessThan(HELLO.text().length());
  }

  @Test
  void generate_greedy_isReproducible() {
    List<String> first = new ArrayList<>();
    List<String> second = new ArrayList<>();

    Completion a = TinyModel.engine().generate(HELLO, greedy(12), first::add, () -> false);
    Completion b = TinyModel.engine().generate(HELLO, greedy(12), second::add, () -> false);

    assertThat(String.join("", first)).isNotEmpty().isEqualTo(String.join("", second));
    assertThat(a).isEqualTo(b);
    assertThat(a.promptTokens()).isEqualTo(HELLO.tokens());
  }

  @Test
  void generate_budgetRunsOut_reportsLengthAndTheBudget() {
    Completion c = TinyModel.engine().generate(HELLO, greedy(8), text -> {}, () -> false);

    assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
    assertThat(c.completionTokens()).isEqualTo(8);
  }

  @Test
  void generate_cancelled_stopsAndFreesTheSlot() {
    List<String> seen = new ArrayList<>();

    assertThatThrownBy(() -> TinyModel.engine().generate(HELLO, greedy(400), seen::add, () -> seen.size() >= 3))
        .isInstanceOf(CancellationException.class);

    assertThat(seen).hasSize(3);
    assertThat(TinyModel.engine().generate(HELLO, greedy(4), t -> {}, () -> false).completionTokens()).isEqualTo(4);
  }

  @Test
  void generate_sinkThrows_stopsAndRethrows() {
    assertThatThrownBy(() -> TinyModel.engine().generate(HELLO, greedy(50), t -> {
      throw new IllegalStateException("client gone");
    }, () -> false)).hasMessage("client gone");

    assertThat(TinyModel.engine().generate(HELLO, greedy(2), t -> {}, () -> false).completionTokens()).isEqualTo(2);
  }

  @Test
  void generate_twoAtOnce_bothFinishInTheirOwnSlots() throws Exception {
    CompletableFuture<Completion> a = CompletableFuture.supplyAsync(
        () -> TinyModel.engine().generate(HELLO, greedy(32), t -> {}, () -> false));
    CompletableFuture<Completion> b = CompletableFuture.supplyAsync(
        () -> TinyModel.engine().generate(HELLO, greedy(32), t -> {}, () -> false));

    assertThat(a.get(30, TimeUnit.SECONDS)).isEqualTo(b.get(30, TimeUnit.SECONDS));
  }

  @Test
  void start_readerPausesWhileTheEngineDecodes_tokensPileUpAndDrainWithoutWaiting() throws Exception {
    String whole = String.join("", collect(TinyModel.engine(), greedy(40)));
    try (Generation g = TinyModel.engine().start(HELLO, greedy(40), () -> false)) {
      await().atMost(Duration.ofSeconds(30)).until(g::ready);
      StringBuilder text = new StringBuilder(g.next());
      await().atMost(Duration.ofSeconds(30)).until(g::ready); // read-ahead keeps going while we do nothing
      int drained = 0;
      while (g.ready()) {
        String t = g.next();
        if (t == null) {
          break;
        }
        text.append(t);
        drained++;
      }
      for (String t; (t = g.next()) != null; ) {
        text.append(t);
      }

      assertThat(drained).isPositive();
      assertThat(text.toString()).isEqualTo(whole);
      assertThat(g.completion()).isEqualTo(new Completion(FinishReason.LENGTH, HELLO.tokens(), 40));
      assertThat(g.ready()).isTrue(); // ended: next() answers at once
    }
  }

  @Test
  void start_closedMidStream_freesTheSlotForTheNextRequest() {
    Generation g = TinyModel.engine().start(HELLO, greedy(400), () -> false);
    assertThat(g.next()).isNotNull();
    g.close();

    assertThat(TinyModel.engine().generate(HELLO, greedy(4), t -> {}, () -> false).completionTokens()).isEqualTo(4);
  }

  @Test
  void start_cancelledWhileReading_throwsCancellation() {
    AtomicBoolean cancelled = new AtomicBoolean();
    try (Generation g = TinyModel.engine().start(HELLO, greedy(400), cancelled::get)) {
      assertThat(g.next()).isNotNull();
      cancelled.set(true);

      assertThatThrownBy(() -> {
        while (g.next() != null) {
          // the flag is checked before every token, queued or not
        }
      }).isInstanceOf(CancellationException.class);
    }
  }

  private static List<String> collect(LlamaEngine engine, SamplingParams sampling) {
    List<String> texts = new ArrayList<>();
    engine.generate(HELLO, sampling, texts::add, () -> false);
    return texts;
  }

  @Test
  void finish_lastOutputEmptyBeforeTheBudget_isStop() {
    assertThat(LlamaEngine.finish(5, true, 10, 7)).isEqualTo(new Completion(FinishReason.STOP, 7, 5));
  }

  @Test
  void finish_budgetReachedOrCutMidText_isLength() {
    assertThat(LlamaEngine.finish(10, true, 10, 7)).isEqualTo(new Completion(FinishReason.LENGTH, 7, 10));
    // a held-back multi-byte token makes fewer outputs than tokens; a non-empty last output still means length
    assertThat(LlamaEngine.finish(8, false, 10, 7)).isEqualTo(new Completion(FinishReason.LENGTH, 7, 10));
  }

  @Test
  void generate_stopStringInTheAnswer_cutsBeforeItAndReportsStop() {
    String whole = String.join("", collect(TinyModel.engine(), greedy(40)));
    String stop = whole.substring(whole.length() / 2, whole.length() / 2 + 3);
    SamplingParams withStop = new SamplingParams(40, 0f, 1f, 0, OptionalLong.empty(), List.of("never-said", stop));

    List<String> texts = new ArrayList<>();
    Completion c = TinyModel.engine().generate(HELLO, withStop, texts::add, () -> false);
    String streamed = String.join("", drain(TinyModel.engine().start(HELLO, withStop, () -> false)));

    assertThat(String.join("", texts)).isEqualTo(whole.substring(0, whole.indexOf(stop)));
    assertThat(streamed).isEqualTo(whole.substring(0, whole.indexOf(stop)));
    assertThat(c.finishReason()).isEqualTo(FinishReason.STOP);
    assertThat(c.completionTokens()).isLessThan(40);
  }

  @Test
  void generate_longStopThatNeverCompletes_returnsTheWholeAnswerHeldBackNoLonger() {
    String whole = String.join("", collect(TinyModel.engine(), greedy(40)));
    // a stop string that starts like the answer and then differs: held back, then released whole
    String stop = whole.substring(0, Math.min(whole.length(), 20)) + "§".repeat(200);
    SamplingParams withStop = new SamplingParams(40, 0f, 1f, 0, OptionalLong.empty(), List.of(stop));

    List<String> texts = new ArrayList<>();
    Completion c = TinyModel.engine().generate(HELLO, withStop, texts::add, () -> false);

    assertThat(String.join("", texts)).isEqualTo(whole);
    assertThat(c).isEqualTo(new Completion(FinishReason.LENGTH, HELLO.tokens(), 40));
  }

  private static List<String> drain(Generation g) {
    List<String> texts = new ArrayList<>();
    try (g) {
      for (String t; (t = g.next()) != null; ) {
        texts.add(t);
      }
    }
    return texts;
  }

  @Test
  void rawPrompt_farLongerThanTheContext_isBoundedWithoutTokenizingAndTheBoundIsSound() {
    LlamaEngine engine = TinyModel.engine();
    assertThat(engine.maxTokenBytes()).isPositive();
    for (String text : List.of("Hello there, how are you today?", "a".repeat(3000), "é€😀 mixed ".repeat(300),
        "lorem ipsum dolor sit amet ".repeat(100))) {
      assertThat(LlamaEngine.tokensAtLeast(text, engine.maxTokenBytes())).as(text)
          .isLessThanOrEqualTo(engine.tokenize(text).length);
    }

    String huge = "lorem ipsum dolor sit amet ".repeat(40_000); // ~1 MB: tokenizing it takes ~400 ms
    Prompt prompt = engine.rawPrompt(huge);

    assertThat(prompt.tokens()).isGreaterThan(TinyModel.CONTEXT);
    // the count is the byte bound (plus BOS), far below the real count: the prompt was never tokenized
    // (the CPU this saves is measured by FrontDoorBenchmark, not asserted in a test)
    long bound = LlamaEngine.tokensAtLeast(huge, engine.maxTokenBytes());
    assertThat((long) prompt.tokens()).isBetween(bound, bound + 1);
    assertThat(prompt.tokens()).isLessThan(engine.tokenize(huge).length);
  }

  @Test
  void foldSeed_isNeverTheRandomSeedMarker() {
    assertThat(LlamaEngine.foldSeed(-1L)).isNotNegative();
    assertThat(LlamaEngine.foldSeed(0xFFFF_FFFFL)).isNotNegative().isNotEqualTo(-1);
    assertThat(LlamaEngine.foldSeed(42)).isEqualTo(42);
  }

  /** Greedy with no cut is sent as top-k 1 (the same argmax without sorting the vocabulary); anything else as asked. */
  @Test
  void greedyWithoutATopKCut_isSentAsTopKOne_otherwiseTheClientsValue() {
    assertThat(LlamaEngine.llamaTopK(new SamplingParams(8, 0f, 1f, 0, OptionalLong.empty(), List.of()))).isEqualTo(1);
    assertThat(LlamaEngine.llamaTopK(new SamplingParams(8, 0f, 1f, 7, OptionalLong.empty(), List.of()))).isEqualTo(7);
    assertThat(LlamaEngine.llamaTopK(new SamplingParams(8, 0.8f, 1f, 0, OptionalLong.empty(), List.of()))).isZero();
  }
}
