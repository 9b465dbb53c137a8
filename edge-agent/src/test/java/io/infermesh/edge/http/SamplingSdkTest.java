package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.SdkEdge;
import io.infermesh.edge.TinyModel;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sampling controls of issue 12 on the edge route, driven by the official OpenAI Java SDK
 * against an agent with the tiny llama.cpp model and no core: what is honoured changes the
 * answer, what cannot be honoured here is refused with 400 naming the field.
 */
class SamplingSdkTest {
  private static EdgeAgent agent;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    agent = EdgeAgent.builder(TinyModel.config()).engine(TinyModel.engine()).start();
    client = SdkEdge.client(agent, "unused");
  }

  @AfterAll
  static void stop() {
    client.close();
    agent.close();
  }

  private static ChatCompletionCreateParams.Builder chat() {
    return ChatCompletionCreateParams.builder()
        .model("tiny-edge")
        .addUserMessage("Tell me a story about a fox")
        .maxCompletionTokens(8)
        .temperature(0.0);
  }

  private static String text(ChatCompletionCreateParams params) {
    return client.chat().completions().create(params).choices().get(0).message().content().orElseThrow();
  }

  private static ChatCompletionCreateParams.LogitBias bias(Map<Integer, Integer> biases) {
    ChatCompletionCreateParams.LogitBias.Builder b = ChatCompletionCreateParams.LogitBias.builder();
    biases.forEach((token, value) -> b.putAdditionalProperty(String.valueOf(token), JsonValue.from(value)));
    return b.build();
  }

  /** Strings the tiny model's vocabulary holds as one token each. */
  private static final List<String> PIECES = Stream.of(" the", " a", " and", "the", "a", "e", "s", "t")
      .filter(p -> TinyModel.engine().tokenize(p).length == 1).limit(2).toList();

  private static int token(String text) {
    return TinyModel.engine().tokenize(text)[0];
  }

  @Test
  void logitBias_large_forcesTheTokenEveryStep() {
    String piece = PIECES.get(0);
    String plain = text(chat().build());

    String biased = text(chat().logitBias(bias(Map.of(token(piece), 100))).build());

    assertThat(biased).isEqualTo(piece.repeat(8));
    assertThat(plain).isNotEqualTo(biased);
  }

  @Test
  void frequencyPenalty_breaksTheRepetitionOfAForcedToken() {
    // both far above the rest: greedy alone repeats its favourite, a frequency penalty of 2 a use
    // moves it to the other (llama.cpp counts the prompt's tokens too, see the README)
    String a = PIECES.get(0);
    String b = PIECES.get(1);
    Map<Integer, Integer> both = Map.of(token(a), 100, token(b), 100);
    String plain = text(chat().logitBias(bias(both)).build());
    String penalized = text(chat().logitBias(bias(both)).frequencyPenalty(2.0).build());

    assertThat(plain).isIn(a.repeat(8), b.repeat(8));
    assertThat(penalized).contains(a).contains(b);
  }

  @Test
  void presencePenalty_zeroIsTheDefault_andAValueInRangeIsAccepted() {
    String plain = text(chat().build());

    assertThat(text(chat().presencePenalty(0.0).build())).isEqualTo(plain);
    assertThat(text(chat().presencePenalty(1.5).build())).isNotNull();
  }

  @Test
  void seed_sameSeed_sameAnswer_otherSeedDiffers() {
    ChatCompletionCreateParams.Builder sampled = chat().temperature(1.0).maxCompletionTokens(16);

    String a = text(sampled.seed(42).build());
    String b = text(sampled.seed(42).build());
    String c = text(sampled.seed(4242).build());

    assertThat(a).isEqualTo(b);
    assertThat(c).isNotEqualTo(a);
  }

  @Test
  void n_three_returnsThreeIndexedChoices_seededAsSeedPlusIndex() {
    ChatCompletionCreateParams.Builder sampled = chat().temperature(1.0).maxCompletionTokens(12).seed(7);

    ChatCompletion three = client.chat().completions().create(sampled.n(3).build());
    String alone = text(sampled.n(1).build());

    three.validate();
    assertThat(three.choices()).extracting(ChatCompletion.Choice::index).containsExactly(0L, 1L, 2L);
    assertThat(three.choices().get(0).message().content()).hasValue(alone);
    assertThat(three.choices().stream().map(c -> c.message().content().orElseThrow()).distinct()).hasSize(3);
    assertThat(three.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(36));
  }

  @Test
  void n_threeStreamed_eachChoiceAssemblesToItsWholeAnswer() {
    ChatCompletionCreateParams.Builder sampled = chat().temperature(1.0).maxCompletionTokens(12).seed(7).n(3);
    ChatCompletion whole = client.chat().completions().create(sampled.build());
    Map<Long, StringBuilder> streamed = new TreeMap<>();

    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(sampled.build())) {
      stream.stream().forEach(chunk -> chunk.choices().forEach(c -> streamed
          .computeIfAbsent(c.index(), i -> new StringBuilder()).append(c.delta().content().orElse(""))));
    }

    assertThat(streamed).containsOnlyKeys(0L, 1L, 2L);
    for (ChatCompletion.Choice c : whole.choices()) {
      assertThat(streamed.get(c.index()).toString()).isEqualTo(c.message().content().orElseThrow());
    }
  }

  @Test
  void completions_nTwoWithEcho_prefixesThePromptToEachChoice() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model("tiny-edge").prompt("Once upon a time").maxTokens(4).temperature(0.0).n(2).echo(true).build());

    assertThat(completion.choices()).hasSize(2);
    assertThat(completion.choices()).extracting(CompletionChoice::text).allMatch(t -> t.startsWith("Once upon a time"));
  }

  @Test
  void metadataFields_areAcceptedAndChangeNothing() {
    String plain = text(chat().build());

    String tagged = text(chat().user("alice@example.com")
        .metadata(ChatCompletionCreateParams.Metadata.builder().putAdditionalProperty("team", JsonValue.from("a"))
            .build())
        .store(false).serviceTier(ChatCompletionCreateParams.ServiceTier.FLEX).build());

    assertThat(tagged).isEqualTo(plain);
  }

  @Test
  void logprobs_withoutACore_refusedNamingTheField() {
    assertRefused(() -> text(chat().logprobs(true).topLogprobs(2).build()), "logprobs");
    assertRefused(() -> client.completions().create(CompletionCreateParams.builder().model("tiny-edge")
        .prompt("hi").maxTokens(2).logprobs(2).build()), "logprobs");
  }

  @Test
  void unknownOrUnsupportedFields_refusedNamingTheField() {
    assertRefused(() -> text(chat().putAdditionalBodyProperty("frobnicate", JsonValue.from(true)).build()),
        "frobnicate");
    assertRefused(() -> text(chat().store(true).build()), "store");
    assertRefused(() -> text(chat().serviceTier(ChatCompletionCreateParams.ServiceTier.SCALE).build()),
        "service_tier");
    assertRefused(() -> text(chat().n(9).build()), "n");
    assertRefused(() -> text(chat().presencePenalty(2.5).build()), "presence_penalty");
    assertRefused(() -> text(chat().frequencyPenalty(-2.5).build()), "frequency_penalty");
    assertRefused(() -> text(chat().logitBias(bias(Map.of(1, 101))).build()), "logit_bias");
    assertRefused(() -> text(chat().logitBias(bias(Map.of(1_000_000, 5))).build()), "logit_bias"); // not in the vocabulary
    assertRefused(() -> text(chat().putAdditionalBodyProperty("reasoning_effort", JsonValue.from("high")).build()),
        "reasoning_effort");
    assertRefused(() -> client.completions().create(CompletionCreateParams.builder().model("tiny-edge")
        .prompt("hi").suffix("end").build()), "suffix");
    assertRefused(() -> client.completions().create(CompletionCreateParams.builder().model("tiny-edge")
        .prompt("hi").n(1).bestOf(3).build()), "best_of");
  }

  @Test
  void messageKeys_unknownOrAudio_refusedNamingTheKey() {
    io.infermesh.edge.HttpTestClient http = new io.infermesh.edge.HttpTestClient(agent.httpPort());

    var unknown = http.post("/v1/chat/completions",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"mood\": \"happy\"}]}");
    var audio = http.post("/v1/chat/completions",
        "{\"messages\": [{\"role\": \"assistant\", \"content\": \"\", \"audio\": {\"id\": \"a1\"}},"
            + " {\"role\": \"user\", \"content\": \"hi\"}]}");

    assertThat(unknown.status()).isEqualTo(400);
    assertThat(unknown.json().at("/error/param").asText()).isEqualTo("messages[0].mood");
    assertThat(unknown.json().at("/error/message").asText()).contains("Unrecognized request argument supplied");
    assertThat(audio.json().at("/error/param").asText()).isEqualTo("messages[0].audio");
  }

  private static void assertRefused(Runnable call, String field) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(BadRequestException.class, e -> {
      assertThat(e.statusCode()).isEqualTo(400);
      assertThat(e.param()).hasValue(field);
    });
  }
}
