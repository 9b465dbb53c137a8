package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.HttpResponseFor;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.Embedding;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 12's sampling features on the core route, driven by the official OpenAI Java SDK through a
 * real edge agent to a real core node (the whole mesh on loopback, tiny models): logit_bias,
 * penalties, seeds, {@code n}, log-probabilities, the model list and embeddings on each tier.
 */
class OpenAiFeaturesMeshTest {
  private static Path dir;
  private static MeshUp mesh;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("openai-features");
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(), d.routing(),
        Duration.ofSeconds(30)));
    client = OpenAIOkHttpClient.builder()
        .baseUrl("http://127.0.0.1:" + mesh.edge().httpPort() + "/v1")
        .apiKey("unused")
        .maxRetries(0)
        .build();
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.close();
    }
    if (mesh != null) {
      mesh.close();
    }
  }

  private static ChatCompletionCreateParams.Builder chat() {
    return ChatCompletionCreateParams.builder()
        .model("core")
        .addUserMessage("Tell me a story about a fox")
        .maxCompletionTokens(6)
        .temperature(0.0);
  }

  private static CompletionCreateParams.Builder text() {
    return CompletionCreateParams.builder().model("core").prompt("The quick brown fox").maxTokens(6).temperature(0.0);
  }

  private static ChatCompletionCreateParams.LogitBias bias(Map<Integer, Integer> biases) {
    ChatCompletionCreateParams.LogitBias.Builder b = ChatCompletionCreateParams.LogitBias.builder();
    biases.forEach((token, value) -> b.putAdditionalProperty(String.valueOf(token), JsonValue.from(value)));
    return b.build();
  }

  private static CompletionCreateParams.LogitBias textBias(Map<Integer, Integer> biases) {
    CompletionCreateParams.LogitBias.Builder b = CompletionCreateParams.LogitBias.builder();
    biases.forEach((token, value) -> b.putAdditionalProperty(String.valueOf(token), JsonValue.from(value)));
    return b.build();
  }

  /** The generated tokens' texts, read from the completion's log-probabilities. */
  private static List<String> tokens(Completion completion) {
    return completion.choices().get(0).logprobs().orElseThrow().tokens().orElseThrow();
  }

  @Test
  void logitBias_viaTheCore_forcesTheTokenEveryStep() {
    ChatCompletion plain = client.chat().completions().create(chat().logprobs(true).build());
    ChatCompletion biased = client.chat().completions().create(chat().logprobs(true)
        .logitBias(bias(Map.of(300, 100))).build());

    List<String> forced = biased.choices().get(0).logprobs().orElseThrow().content().orElseThrow().stream()
        .map(ChatCompletionTokenLogprob::token).toList();
    assertThat(forced).hasSize(6).containsOnly(forced.get(0));
    assertThat(plain.choices().get(0).message().content()).isNotEqualTo(biased.choices().get(0).message().content());
  }

  @Test
  void frequencyPenalty_viaTheCore_makesTwoForcedTokensTakeTurns() {
    Map<Integer, Integer> both = Map.of(300, 100, 301, 100);
    List<String> plain = tokens(client.completions().create(text().logprobs(0).logitBias(textBias(both)).build()));
    List<String> penalized = tokens(client.completions().create(text().logprobs(0).logitBias(textBias(both))
        .frequencyPenalty(2.0).build()));

    assertThat(repeats(plain)).isPositive();
    assertThat(repeats(penalized)).isZero();
    assertThat(penalized).hasSize(6);
  }

  private static int repeats(List<String> tokens) {
    int n = 0;
    for (int i = 1; i < tokens.size(); i++) {
      n += tokens.get(i).equals(tokens.get(i - 1)) ? 1 : 0;
    }
    return n;
  }

  @Test
  void seed_viaTheCore_sameSeedSameAnswer() {
    ChatCompletionCreateParams.Builder sampled = chat().temperature(1.2).maxCompletionTokens(12);

    String a = client.chat().completions().create(sampled.seed(5).build()).choices().get(0).message().content()
        .orElseThrow();
    String b = client.chat().completions().create(sampled.seed(5).build()).choices().get(0).message().content()
        .orElseThrow();
    String c = client.chat().completions().create(sampled.seed(6).build()).choices().get(0).message().content()
        .orElseThrow();

    assertThat(a).isEqualTo(b);
    assertThat(c).isNotEqualTo(a);
  }

  @Test
  void n_threeViaTheCore_returnsThreeChoicesServedByTheCore() {
    HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse()
        .create(chat().temperature(1.0).seed(11).maxCompletionTokens(8).n(3).build());

    ChatCompletion three = raw.parse();
    assertThat(raw.headers().values("x-infermesh-route")).containsExactly("core");
    assertThat(three.model()).isEqualTo("tiny-core");
    assertThat(three.choices()).extracting(ChatCompletion.Choice::index).containsExactly(0L, 1L, 2L);
    assertThat(three.choices().stream().map(c -> c.message().content().orElseThrow()).distinct()).hasSize(3);
    // one call to the core, one prefill: choice i is still what n: 1 with seed 11 + i answers
    for (int i = 0; i < 3; i++) {
      ChatCompletion alone = client.chat().completions()
          .create(chat().temperature(1.0).seed(11 + i).maxCompletionTokens(8).build());
      assertThat(three.choices().get(i).message().content()).as("choice %d", i)
          .isEqualTo(alone.choices().get(0).message().content());
    }
    long prompt = three.usage().orElseThrow().promptTokens();
    assertThat(prompt).as("the prompt counted once").isEqualTo(client.chat().completions()
        .create(chat().maxCompletionTokens(8).build()).usage().orElseThrow().promptTokens());
    assertThat(three.usage().orElseThrow().completionTokens()).isEqualTo(24);
  }

  @Test
  void n_threeStreamedViaTheCore_deltasNameTheirChoice() {
    ChatCompletionCreateParams.Builder params = chat().temperature(1.0).seed(11).maxCompletionTokens(8).n(3);
    ChatCompletion whole = client.chat().completions().create(params.build());
    Map<Long, StringBuilder> texts = new TreeMap<>();
    Map<Long, List<String>> finishes = new TreeMap<>();
    List<Long> completionTokens = new ArrayList<>();

    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params
        .streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder().includeUsage(true)
            .build()).build())) {
      stream.stream().forEach(chunk -> {
        chunk.usage().ifPresent(u -> completionTokens.add(u.completionTokens()));
        chunk.choices().forEach(c -> {
          c.delta().content().ifPresent(t -> texts.computeIfAbsent(c.index(), k -> new StringBuilder()).append(t));
          c.finishReason().ifPresent(f -> finishes.computeIfAbsent(c.index(), k -> new ArrayList<>())
              .add(f.asString()));
        });
      });
    }

    assertThat(texts).containsOnlyKeys(0L, 1L, 2L);
    for (int i = 0; i < 3; i++) {
      assertThat(texts.get((long) i).toString()).as("choice %d", i)
          .isEqualTo(whole.choices().get(i).message().content().orElseThrow());
      assertThat(finishes.get((long) i)).containsExactly("length");
    }
    assertThat(completionTokens).containsExactly(24L);
  }

  @Test
  void logprobs_auto_routedToTheCoreWithTopAlternatives() {
    HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse()
        .create(chat().model("auto").logprobs(true).topLogprobs(3).build());

    ChatCompletion completion = raw.parse();
    completion.validate();
    assertThat(raw.headers().values("x-infermesh-route")).containsExactly("core");
    assertThat(raw.headers().values("x-infermesh-reason")).containsExactly("logprobs-core-only");
    List<ChatCompletionTokenLogprob> content = completion.choices().get(0).logprobs().orElseThrow().content()
        .orElseThrow();
    assertThat(content).hasSize(6);
    for (ChatCompletionTokenLogprob lp : content) {
      assertThat(lp.logprob()).isLessThanOrEqualTo(0.0);
      assertThat(lp.topLogprobs()).hasSize(3);
      assertThat(lp.topLogprobs().get(0).logprob()).isEqualTo(lp.logprob()); // greedy: the best one was chosen
    }
    assertThat(String.join("", content.stream().map(ChatCompletionTokenLogprob::token).toList()))
        .isEqualTo(completion.choices().get(0).message().content().orElseThrow());
  }

  @Test
  void logprobs_streamed_matchTheWholeAnswer() {
    ChatCompletion whole = client.chat().completions().create(chat().logprobs(true).topLogprobs(1).build());
    List<ChatCompletionTokenLogprob> streamed = new ArrayList<>();

    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
        .createStreaming(chat().logprobs(true).topLogprobs(1).build())) {
      stream.stream().forEach(chunk -> chunk.choices().forEach(c -> c.logprobs()
          .flatMap(ChatCompletionChunk.Choice.Logprobs::content).ifPresent(streamed::addAll)));
    }

    assertThat(streamed).extracting(ChatCompletionTokenLogprob::token).containsExactlyElementsOf(
        whole.choices().get(0).logprobs().orElseThrow().content().orElseThrow().stream()
            .map(ChatCompletionTokenLogprob::token).toList());
  }

  @Test
  void logprobs_completions_legacyShape() {
    Completion completion = client.completions().create(text().model("auto").logprobs(2).build());

    var logprobs = completion.choices().get(0).logprobs().orElseThrow();
    assertThat(logprobs.tokens().orElseThrow()).hasSize(6);
    assertThat(logprobs.tokenLogprobs().orElseThrow()).hasSize(6);
    assertThat(logprobs.topLogprobs().orElseThrow()).hasSize(6);
    assertThat(logprobs.textOffset().orElseThrow()).startsWith(0L);
  }

  @Test
  void logprobs_pinnedToTheEdge_refusedNamingTheField() {
    assertThatThrownBy(() -> client.chat().completions().create(chat().model("edge").logprobs(true).build()))
        .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).hasValue("logprobs"));
    assertThatThrownBy(() -> client.chat().completions().create(chat().model("auto").logprobs(true)
        .putAdditionalHeader("x-infermesh-privacy", "local-only").build()))
        .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).hasValue("logprobs"));
  }

  @Test
  void models_listAliasesAndTheModelsOfBothTiers() {
    Map<String, Model> models = new TreeMap<>();
    client.models().list().autoPager().forEach(m -> models.put(m.id(), m));

    assertThat(models).containsKeys("auto", "edge", "core", "tiny-core", "tiny-edge-q8_0");
    assertThat(models.get("tiny-core").ownedBy()).isEqualTo("infermesh-core");
    assertThat(models.get("tiny-edge-q8_0").ownedBy()).isEqualTo("infermesh-edge");
    assertThat(models.get("tiny-core")._additionalProperties().get("context_length").asNumber()).isPresent();
    assertThat(client.models().retrieve("tiny-core").id()).isEqualTo("tiny-core");
  }

  @Test
  void embeddings_aBatchOnEachTier_unitVectorsFromTheNamedModel() {
    EmbeddingCreateParams.Builder batch = EmbeddingCreateParams.builder()
        .inputOfArrayOfStrings(List.of("hello world", "a fox", "hello world"))
        .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT);

    HttpResponseFor<CreateEmbeddingResponse> core = client.embeddings().withRawResponse()
        .create(batch.model("core").build());
    HttpResponseFor<CreateEmbeddingResponse> edge = client.embeddings().withRawResponse()
        .create(batch.model("edge").build());

    assertThat(core.headers().values("x-infermesh-route")).containsExactly("core");
    assertThat(edge.headers().values("x-infermesh-route")).containsExactly("edge");
    for (HttpResponseFor<CreateEmbeddingResponse> raw : List.of(core, edge)) {
      CreateEmbeddingResponse r = raw.parse();
      assertThat(r.data()).extracting(Embedding::index).containsExactly(0L, 1L, 2L);
      assertThat(r.data().get(0).embedding()).isEqualTo(r.data().get(2).embedding())
          .isNotEqualTo(r.data().get(1).embedding());
      assertThat(r.data().get(1).embedding().stream().mapToDouble(v -> v * v).sum())
          .isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-4));
    }
    assertThat(core.parse().model()).isEqualTo("tiny-core");
    assertThat(edge.parse().model()).isEqualTo("tiny-edge-q8_0");
  }

  @Test
  void embeddings_coreButLocalOnly_refusedNamingTheModel() {
    assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().input("x").model("core")
        .putAdditionalHeader("x-infermesh-privacy", "local-only").build()))
        .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).hasValue("model"));
  }

  @Test
  void aModelTheCoreLists_isServedByTheCore() {
    HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse()
        .create(chat().model("tiny-core").build());

    assertThat(raw.headers().values("x-infermesh-route")).containsExactly("core");
    assertThat(raw.parse().model()).isEqualTo("tiny-core");
  }

  @Test
  void promptTokensDetails_viaTheCore_reportTheSharedPrefixTheCoreHadCached_andNoneOnTheEdge() {
    String system = "You answer questions about the infermesh test fixtures, briefly and politely. ".repeat(4);
    ChatCompletion first = client.chat().completions().create(ChatCompletionCreateParams.builder().model("core")
        .addSystemMessage(system).addUserMessage("What is a fox?").maxCompletionTokens(3).temperature(0.0).build());
    ChatCompletion second = client.chat().completions().create(ChatCompletionCreateParams.builder().model("core")
        .addSystemMessage(system).addUserMessage("What is a dog?").maxCompletionTokens(3).temperature(0.0).build());

    assertThat(first.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens()).contains(0L);
    long cached = second.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElseThrow();
    assertThat(cached).as("the system prompt's whole KV blocks").isPositive()
        .isLessThan(second.usage().orElseThrow().promptTokens());
    ChatCompletion local = client.chat().completions().create(ChatCompletionCreateParams.builder().model("edge")
        .addSystemMessage(system).addUserMessage("What is a cat?").maxCompletionTokens(3).temperature(0.0).build());
    assertThat(local.usage().orElseThrow().promptTokensDetails()).as("llama.cpp's slot cache is not reported")
        .isEmpty();
  }
}
