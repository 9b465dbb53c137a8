package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.EmbedResponse;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.TokenLogprob;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.lifecycle.ServedModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The core's sampling controls and embeddings over real gRPC on the tiny core model: logit_bias
 * and penalties change greedy output, log-probabilities come back per token, a seed reproduces an
 * answer, a batch of texts embeds in order, {@code n} choices come from one call (choice i as a request
 * of its own with seed + i).
 */
class SamplingFeaturesTest {
  private static final String LONG_PROMPT =
      "The quick brown fox jumps over the lazy dog, and then the quick brown fox";
  private static TestMesh mesh;
  private static CoreNode node;
  private static InferenceGrpc.InferenceBlockingStub stub;

  @BeforeAll
  static void start() throws Exception {
    mesh = new TestMesh("core-sampling");
    CoreConfig config = mesh.tinyCore(CoreConfig.Scheduling.builder()
        .maxQueued(4).maxBatchSize(4).maxBatchTokens(256).prefillChunk(64).contextLength(512)
        .build());
    node = CoreNode.start(config);
    node.loadConfiguredModel();
    stub = InferenceGrpc.newBlockingStub(mesh.channel(Role.EDGE, "edge-client", node.port()));
  }

  @AfterAll
  static void stop() throws Exception {
    mesh.close();
    node.close();
  }

  private static GenerateRequest request(SamplingParams.Builder sampling) {
    return GenerateRequest.newBuilder().setPrompt("The quick brown fox").setSampling(sampling.setMaxTokens(6)).build();
  }

  private static List<GenerateChunk> run(SamplingParams.Builder sampling) {
    List<GenerateChunk> out = new ArrayList<>();
    stub.generate(request(sampling)).forEachRemaining(out::add);
    return out;
  }

  private static List<Integer> ids(List<GenerateChunk> chunks) {
    return chunks.stream().flatMap(c -> c.getTokenIdsList().stream()).toList();
  }

  @Test
  void generate_largeLogitBias_forcesTheToken() {
    List<Integer> plain = ids(run(SamplingParams.newBuilder().setTemperature(0f)));
    int forced = plain.get(0) == 300 ? 301 : 300;

    List<Integer> biased = ids(run(SamplingParams.newBuilder().setTemperature(0f).putLogitBias(forced, 100f)));

    assertThat(biased).hasSize(6).containsOnly(forced);
    assertThat(plain).doesNotContain(forced);
  }

  @Test
  void generate_frequencyPenalty_makesTwoForcedTokensTakeTurns() {
    // both tokens biased far above the rest; greedy alone keeps the one the model prefers, while a
    // frequency penalty of 2 a use makes them take turns (their base logits differ by less than 2 here)
    SamplingParams.Builder forced = SamplingParams.newBuilder().setTemperature(0f).putLogitBias(300, 100f)
        .putLogitBias(301, 100f);
    List<Integer> plain = ids(run(forced.clone()));
    List<Integer> penalized = ids(run(forced.clone().setFrequencyPenalty(2f)));

    assertThat(plain).containsOnly(300, 301);
    assertThat(repeats(plain)).isPositive();
    assertThat(penalized).containsOnly(300, 301);
    assertThat(repeats(penalized)).isZero();
  }

  /** How often a token follows itself. */
  private static int repeats(List<Integer> ids) {
    int n = 0;
    for (int i = 1; i < ids.size(); i++) {
      n += ids.get(i).equals(ids.get(i - 1)) ? 1 : 0;
    }
    return n;
  }

  @Test
  void generate_withLogprobs_reportsOnePerTokenWithTopAlternatives() {
    List<GenerateChunk> chunks = run(SamplingParams.newBuilder().setTemperature(0f).setLogprobs(true)
        .setTopLogprobs(3));

    List<TokenLogprob> logprobs = chunks.stream().flatMap(c -> c.getLogprobsList().stream()).toList();
    assertThat(logprobs).hasSize(ids(chunks).size());
    for (TokenLogprob lp : logprobs) {
      assertThat(lp.getLogprob()).isLessThanOrEqualTo(0f);
      assertThat(lp.getTopLogprobsList()).hasSize(3);
      // greedy: the chosen token is the most likely one
      assertThat(lp.getTopLogprobs(0).getLogprob()).isEqualTo(lp.getLogprob());
      assertThat(lp.getTopLogprobs(0).getBytes()).isEqualTo(lp.getBytes());
    }
  }

  @Test
  void generate_sameSeed_sameAnswer_otherSeedDiffers() {
    SamplingParams.Builder seeded = SamplingParams.newBuilder().setTemperature(1.5f).setSeed(42).setMaxTokens(12);
    List<Integer> a = ids(run(seeded.clone()));
    List<Integer> b = ids(run(seeded.clone()));
    List<Integer> other = ids(run(seeded.clone().setSeed(43)));

    assertThat(a).isEqualTo(b);
    assertThat(other).isNotEqualTo(a);
  }

  @Test
  void generate_outOfRangeSamplingFields_invalidArgumentNamingTheField() {
    assertInvalid(SamplingParams.newBuilder().setPresencePenalty(2.5f), "sampling.presence_penalty");
    assertInvalid(SamplingParams.newBuilder().setFrequencyPenalty(-3f), "sampling.frequency_penalty");
    assertInvalid(SamplingParams.newBuilder().putLogitBias(1, 150f), "sampling.logit_bias");
    assertInvalid(SamplingParams.newBuilder().putLogitBias(1 << 20, 1f), "sampling.logit_bias");
    assertInvalid(SamplingParams.newBuilder().setLogprobs(true).setTopLogprobs(21), "sampling.top_logprobs");
    assertInvalid(SamplingParams.newBuilder().setTopLogprobs(2), "sampling.top_logprobs");
  }

  @Test
  void embed_aBatch_unitVectorsInInputOrder_sameTextSameVector() {
    EmbedResponse r = stub.embed(EmbedRequest.newBuilder().addInput("hello world").addInput("a fox")
        .addInput("hello world").build());

    assertThat(r.getEmbeddingsCount()).isEqualTo(3);
    assertThat(r.getEmbeddings(0).getValuesList()).isEqualTo(r.getEmbeddings(2).getValuesList())
        .isNotEqualTo(r.getEmbeddings(1).getValuesList());
    double length = r.getEmbeddings(1).getValuesList().stream().mapToDouble(v -> v * v).sum();
    assertThat(length).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-4));
    assertThat(r.getUsage().getPromptTokens()).isPositive();
    assertThat(r.getServedBy().getModel()).isEqualTo("tiny-core");
  }

  @Test
  void embed_emptyOrTooManyInputs_invalidArgumentNamingTheInput() {
    assertThatThrownBy(() -> stub.embed(EmbedRequest.newBuilder().addInput("ok").addInput("").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getDescription()).startsWith("input[1]:"));
    assertThatThrownBy(() -> stub.embed(EmbedRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  @Test
  void embed_hugeModelTenantOrRequestId_invalidArgumentWithoutEchoingTheValue() {
    String huge = "m".repeat(100_000);
    EmbedRequest ok = EmbedRequest.newBuilder().addInput("hi").build();
    for (EmbedRequest r : List.of(ok.toBuilder().setModel(huge).build(), ok.toBuilder().setTenant(huge).build(),
        ok.toBuilder().setRequestId(huge).build())) {
      assertThatThrownBy(() -> stub.embed(r))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("at most").hasSizeLessThan(200);
          });
    }
  }

  private static void assertInvalid(SamplingParams.Builder sampling, String field) {
    assertThatThrownBy(() -> run(sampling))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith(field + ":");
        });
  }

  // n: one call, one prefill of a prompt longer than a KV block, chunks naming their choice

  private static List<GenerateChunk> choices(int n, SamplingParams.Builder sampling) {
    List<GenerateChunk> out = new ArrayList<>();
    stub.generate(GenerateRequest.newBuilder().setPrompt(LONG_PROMPT).setN(n).setSampling(sampling).build())
        .forEachRemaining(out::add);
    return out;
  }

  private static String text(List<GenerateChunk> chunks, int choice) {
    return chunks.stream().filter(c -> c.getIndex() == choice).map(GenerateChunk::getText)
        .collect(Collectors.joining());
  }

  @Test
  void generate_threeGreedyChoices_chunksNameTheirChoiceAndEachEndsWithItsUsage() {
    SamplingParams.Builder greedy = SamplingParams.newBuilder().setTemperature(0f).setMaxTokens(6);
    List<GenerateChunk> single = choices(1, greedy);
    List<GenerateChunk> three = choices(3, greedy);

    assertThat(three).extracting(GenerateChunk::getIndex).containsOnly(0, 1, 2);
    for (int i = 0; i < 3; i++) {
      int choice = i;
      assertThat(text(three, i)).as("choice %d", i).isEqualTo(text(single, 0)).isNotEmpty();
      assertThat(three).filteredOn(c -> c.getIndex() == choice)
          .filteredOn(c -> c.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED)
          .singleElement().extracting(GenerateChunk::getFinishReason).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    }
    GenerateChunk singleLast = single.get(single.size() - 1);
    assertThat(three).filteredOn(GenerateChunk::hasUsage).hasSize(3).allSatisfy(c -> {
      assertThat(c.getFinishReason()).isNotEqualTo(FinishReason.FINISH_REASON_UNSPECIFIED);
      assertThat(c.getUsage().toBuilder().clearCachedTokens().build()).as("the prompt and that choice's tokens")
          .isEqualTo(singleLast.getUsage().toBuilder().clearCachedTokens().build());
      assertThat(c.getUsage().getCachedTokens()).as("the whole blocks the single request left cached")
          .isEqualTo((singleLast.getUsage().getPromptTokens() - 1) / 16 * 16); // the last token is always computed
    });
    assertThat(three.get(0).hasServedBy()).isTrue();
  }

  @Test
  void generate_seededChoices_choiceIEqualsASingleAnswerWithSeedPlusI() {
    List<GenerateChunk> three = choices(3, SamplingParams.newBuilder().setTemperature(1f).setSeed(42).setMaxTokens(8)
        .setLogprobs(true));
    for (int i = 0; i < 3; i++) {
      List<GenerateChunk> alone = choices(1, SamplingParams.newBuilder().setTemperature(1f).setSeed(42 + i)
          .setMaxTokens(8));
      int choice = i;
      List<Integer> ids = three.stream().filter(c -> c.getIndex() == choice)
          .flatMap(c -> c.getTokenIdsList().stream()).toList();
      assertThat(ids).as("choice %d", i).isEqualTo(alone.stream().flatMap(c -> c.getTokenIdsList().stream()).toList());
      assertThat(three.stream().filter(c -> c.getIndex() == choice).mapToInt(GenerateChunk::getLogprobsCount).sum())
          .as("one log-probability per token of choice %d", i).isEqualTo(ids.size());
    }
  }

  @Test
  void generate_choicesCancelledMidway_everyChoiceStopsAndFreesItsBlocks() throws Exception {
    var async = InferenceGrpc.newStub(mesh.channel(Role.EDGE, "edge-client", node.port()));
    ServedModel model = node.host().current().orElseThrow();
    Set<Integer> seen = ConcurrentHashMap.newKeySet();
    CompletableFuture<Status> done = new CompletableFuture<>();
    io.grpc.Context.CancellableContext call = io.grpc.Context.current().withCancellation();
    GenerateRequest r = GenerateRequest.newBuilder().setPrompt(LONG_PROMPT).setN(4)
        .setSampling(SamplingParams.newBuilder().setTemperature(1f).setSeed(3).setMaxTokens(400)).build();
    call.run(() -> async.generate(r, TestMesh.observer(c -> seen.add(c.getIndex()), done)));
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(5))
        .until(() -> seen.size() == 4); // every choice decoding, far from its 400th token
    assertThat(model.loop().stats().kvBlocksUsed()).isPositive();

    call.cancel(null);

    await().atMost(Duration.ofSeconds(10)).until(() -> !model.loop().busy());
    assertThat(model.loop().stats().kvBlocksUsed()).isZero();
    assertThat(done.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
  }

  @Test
  void generate_nOutOfRange_isInvalidArgumentNamingN() {
    for (int n : new int[] {9, -1}) {
      assertThatThrownBy(() -> choices(n, SamplingParams.newBuilder().setMaxTokens(2)))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).startsWith("n: ").contains("[1, 8]");
          });
    }
  }

  @Test
  void generate_nUnset_answersOneChoice() {
    List<GenerateChunk> chunks = choices(0, SamplingParams.newBuilder().setTemperature(0f).setMaxTokens(3));
    assertThat(chunks).extracting(GenerateChunk::getIndex).containsOnly(0);
    assertThat(chunks.get(chunks.size() - 1).getUsage().getCompletionTokens()).isEqualTo(3);
  }
}
