package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.stub.MetadataUtils;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import io.infermesh.api.v1.Priority;
import io.infermesh.api.v1.Route;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A real core node on port 0 with mTLS and the tiny core model, called as edge, gateway and others. */
class CoreNodeTest {
  private static TestMesh mesh;
  private static CoreNode node;
  private static ServingStatus healthBeforeLoad;
  private static int readyzBeforeLoad;

  @BeforeAll
  static void start() throws Exception {
    mesh = new TestMesh("core-node");
    CoreConfig config = mesh.tinyCore(CoreConfig.Scheduling.builder()
        .maxQueued(2).maxBatchSize(2).maxBatchTokens(256).prefillChunk(64).contextLength(512)
        .build());
    node = CoreNode.start(config);
    healthBeforeLoad = health(Role.EDGE);
    readyzBeforeLoad = probe("/readyz");
    node.loadConfiguredModel();
  }

  @AfterAll
  static void stop() throws Exception {
    mesh.close();
    node.close();
  }

  private static ManagedChannel channel(Role role) throws Exception {
    return mesh.channel(role, role.pathName() + "-client", node.port());
  }

  private static ServingStatus health(Role role) throws Exception {
    return TestMesh.health(channel(role), InferenceGrpc.SERVICE_NAME);
  }

  private static InferenceGrpc.InferenceBlockingStub edge() throws Exception {
    return InferenceGrpc.newBlockingStub(channel(Role.EDGE));
  }

  private static GenerateRequest prompt(String text, int maxTokens) {
    return GenerateRequest.newBuilder().setRequestId("req-" + text.hashCode()).setPrompt(text)
        .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(0f)).build();
  }

  private static List<GenerateChunk> collect(Iterator<GenerateChunk> it) {
    List<GenerateChunk> out = new ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }

  @Test
  void health_beforeAndAfterModelLoad_notServingThenServing() throws Exception {
    assertThat(healthBeforeLoad).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(health(Role.EDGE)).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void probes_onTheMetricsPort_followTheGrpcHealth() throws Exception {
    assertThat(readyzBeforeLoad).isEqualTo(503);
    assertThat(probe("/readyz")).isEqualTo(200);
    assertThat(probe("/healthz")).isEqualTo(200);
  }

  /** The status of a plain GET on the metrics port (no client certificate: probes have none). */
  private static int probe(String path) throws Exception {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.metricsPort() + path)).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  void generate_promptAsEdge_streamsTextAndEndsWithUsage() throws Exception {
    List<GenerateChunk> chunks = collect(edge().generate(prompt("Once upon a time", 12)));
    GenerateChunk first = chunks.get(0);
    GenerateChunk last = chunks.get(chunks.size() - 1);
    assertThat(first.getServedBy().getRoute()).isEqualTo(Route.ROUTE_CORE);
    assertThat(first.getServedBy().getNodeId()).isEqualTo("spiffe://mesh.test/test-1/core/core-0");
    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(last.getUsage().getCompletionTokens()).isEqualTo(12);
    assertThat(last.getUsage().getPromptTokens()).isPositive();
    assertThat(last.getServedBy().getModelVersion()).isNotEmpty();
    assertThat(chunks.stream().mapToInt(GenerateChunk::getTokenIdsCount).sum()).isEqualTo(12);
    String text = chunks.stream().map(GenerateChunk::getText).reduce("", String::concat);
    assertThat(text).isNotBlank();
    // greedy is deterministic: the same request gives the same text
    String again = collect(edge().generate(prompt("Once upon a time", 12))).stream().map(GenerateChunk::getText)
        .reduce("", String::concat);
    assertThat(again).isEqualTo(text);
  }

  private static InferenceGrpc.InferenceBlockingStub pinnedBy(String pin) throws Exception {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("x-infermesh-model-version", Metadata.ASCII_STRING_MARSHALLER), pin);
    return edge().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  @Test
  void generate_pinnedToTheServedVersion_answersWithThatVersion() throws Exception {
    String version = node.host().current().orElseThrow().version();

    List<GenerateChunk> chunks = collect(pinnedBy(version).generate(prompt("Pinned", 2)));
    List<GenerateChunk> bare = collect(pinnedBy(version.replaceFirst("^sha256:", "")).generate(prompt("Pinned", 2)));

    assertThat(chunks.get(chunks.size() - 1).getServedBy().getModelVersion()).isEqualTo(version);
    assertThat(bare.get(bare.size() - 1).getUsage().getCompletionTokens()).isEqualTo(2);
  }

  @Test
  void generate_pinnedToAnotherVersion_isFailedPreconditionNamingTheServedOne() throws Exception {
    String version = node.host().current().orElseThrow().version();

    assertThatThrownBy(() -> collect(pinnedBy("v999").generate(prompt("Pinned", 2))))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription()).startsWith("x-infermesh-model-version: this node serves version '"
              + version + "'").contains("not 'v999'");
        });
    GenerateRequest hinted = prompt("Pinned", 2).toBuilder().putHints("model-version", "v999").build();
    assertThatThrownBy(() -> collect(edge().generate(hinted)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
  }

  @Test
  void generate_malformedOrContradictoryPin_isInvalidArgument() throws Exception {
    assertThatThrownBy(() -> collect(pinnedBy("v1;drop").generate(prompt("Pinned", 2))))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith("x-infermesh-model-version: a model version is");
        });
    GenerateRequest other = prompt("Pinned", 2).toBuilder().putHints("model-version", "v2").build();
    assertThatThrownBy(() -> collect(pinnedBy("v1").generate(other)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("metadata pins 'v1'");
        });
  }

  @Test
  void generate_chatAsGateway_answers() throws Exception {
    GenerateRequest chat = GenerateRequest.newBuilder()
        .setChat(ChatMessages.newBuilder()
            .addMessages(ChatMessage.newBuilder().setRole("system").setContent("Be brief."))
            .addMessages(ChatMessage.newBuilder().setRole("user").setContent("Tell me about the market.")))
        .setSampling(SamplingParams.newBuilder().setMaxTokens(8).setSeed(3).setTemperature(0.7f))
        .setPriority(Priority.PRIORITY_HIGH).build();
    List<GenerateChunk> chunks = collect(InferenceGrpc.newBlockingStub(channel(Role.GATEWAY)).generate(chat));
    assertThat(chunks.get(chunks.size() - 1).getFinishReason()).isNotEqualTo(FinishReason.FINISH_REASON_UNSPECIFIED);
  }

  @Test
  void generate_callerRoleNotEdgeOrGateway_permissionDenied() throws Exception {
    var stub = InferenceGrpc.newBlockingStub(channel(Role.OPERATOR));
    assertThatThrownBy(() -> collect(stub.generate(prompt("hi", 2))))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
  }

  @Test
  void generate_badInput_invalidArgumentNamingTheField() throws Exception {
    var stub = edge();
    assertInvalid(stub, prompt("hi", 0), "sampling.max_tokens");
    assertInvalid(stub, prompt("hi", 100_000), "sampling.max_tokens");
    assertInvalid(stub, prompt("hi", 4).toBuilder()
        .setSampling(SamplingParams.newBuilder().setTemperature(Float.NaN)).build(), "sampling.temperature");
    assertInvalid(stub, prompt("hi", 4).toBuilder()
        .setSampling(SamplingParams.newBuilder().setTopP(-0.5f)).build(), "sampling.top_p");
    assertInvalid(stub, prompt("hi", 4).toBuilder()
        .setSampling(SamplingParams.newBuilder().setTopK(-1)).build(), "sampling.top_k");
    assertInvalid(stub, prompt("hi", 4).toBuilder().setPriorityValue(9).build(), "priority");
    assertInvalid(stub, GenerateRequest.newBuilder().setChat(ChatMessages.getDefaultInstance()).build(), "chat.messages");
    assertInvalid(stub, GenerateRequest.newBuilder().setChat(ChatMessages.newBuilder()
        .addMessages(ChatMessage.newBuilder().setRole("wizard").setContent("x"))).build(), "chat.messages[0].role");
    assertInvalid(stub, GenerateRequest.getDefaultInstance(), "input");
    assertInvalid(stub, prompt("word ".repeat(700), 4), "prompt");
    assertThatThrownBy(() -> collect(stub.generate(prompt("hi", 2).toBuilder().setModel("gpt-9").build())))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  private static void assertInvalid(InferenceGrpc.InferenceBlockingStub stub, GenerateRequest r, String field) {
    assertThatThrownBy(() -> collect(stub.generate(r)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith(field + ":");
        });
  }

  @Test
  void generate_queueFull_resourceExhaustedWithRetryHint_andCancelFreesBlocks() throws Exception {
    var async = InferenceGrpc.newStub(channel(Role.EDGE));
    List<CompletableFuture<Status>> results = new ArrayList<>();
    List<io.grpc.Context.CancellableContext> contexts = new ArrayList<>();
    List<io.grpc.Metadata> trailers = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      CompletableFuture<Status> done = new CompletableFuture<>();
      results.add(done);
      io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
      contexts.add(ctx);
      GenerateRequest r = prompt("long story number " + i, 400);
      ctx.run(() -> async.generate(r, TestMesh.observer(c -> {}, done, trailers)));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> results.stream().filter(CompletableFuture::isDone).count() >= 2);
    List<Status> rejected = results.stream().filter(CompletableFuture::isDone).map(CompletableFuture::join)
        .filter(s -> s.getCode() == Status.Code.RESOURCE_EXHAUSTED).toList();
    assertThat(rejected).hasSizeGreaterThanOrEqualTo(2);
    synchronized (trailers) {
      assertThat(trailers.get(0).get(InferenceService.RETRY_AFTER_MS)).matches("\\d+");
    }
    ServedModel model = node.host().current().orElseThrow();
    assertThat(model.loop().stats().kvBlocksUsed()).isPositive();
    contexts.forEach(c -> c.cancel(null));
    await().atMost(Duration.ofSeconds(10)).until(() -> !model.loop().busy());
    assertThat(model.loop().stats().kvBlocksUsed()).isZero();
  }

  @Test
  void generate_deadlinePasses_deadlineExceededAndBlocksFreed() throws Exception {
    var stub = edge().withDeadlineAfter(40, TimeUnit.MILLISECONDS);
    assertThatThrownBy(() -> collect(stub.generate(prompt("a very long tale", 480))))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    ServedModel model = node.host().current().orElseThrow();
    await().atMost(Duration.ofSeconds(5)).until(() -> !model.loop().busy());
    assertThat(model.loop().stats().kvBlocksUsed()).isZero();
  }

  @Test
  void listModels_afterLoad_reportsTheModelReady() throws Exception {
    var models = edge().listModels(ListModelsRequest.getDefaultInstance()).getModelsList();
    assertThat(models).singleElement().satisfies(m -> {
      assertThat(m.getName()).isEqualTo("tiny-core");
      assertThat(m.getReady()).isTrue();
      assertThat(m.getContextLength()).isEqualTo(512);
    });
  }

  @Test
  void metrics_afterRequests_exposeSchedulerAndGenAiMeters() throws Exception {
    collect(edge().generate(prompt("metrics please", 3)));
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.metricsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body())
        .contains("infermesh_core_queue_depth{priority=\"low\"}")
        .contains("infermesh_core_kv_blocks_free")
        .contains("infermesh_core_preemptions_total")
        .contains("gen_ai_server_time_to_first_token_seconds_bucket{")
        .contains("gen_ai_server_time_per_output_token_seconds_bucket{")
        .contains("infermesh_tls_certificate_not_after_seconds")
        .contains("infermesh_core_tokens_generated_total")
        .contains("infermesh_core_kv_blocks_cached")
        .contains("infermesh_core_kv_prefix_hits_tokens_total")
        .contains("infermesh_core_kv_prefix_queries_tokens_total");
    // what the control plane scrapes to judge a canary (xds-control's NodeReport): per model version,
    // calls by finish and the time-to-first-token histogram
    String version = node.host().current().orElseThrow().version();
    assertThat(r.body())
        .contains("gen_ai_server_time_to_first_token_seconds_bucket{model_version=\"" + version + "\",le=\"+Inf\"}")
        .containsPattern("gen_ai_server_request_duration_seconds_count\\{finish=\"(stop|length)\",model_version=\""
            + Pattern.quote(version) + "\",priority=\"");
  }

  @Test
  void loadModel_hotSwap_newRequestsServedByNewVersion() throws Exception {
    ServedModel before = node.host().current().orElseThrow();
    Path model = TinyModels.write(TinyModelSpec.core(GgmlType.F32), mesh.root().resolve("models"));
    assertThat(before.version()).startsWith("sha256:");
    node.loadModel(model, "", "v2");
    List<GenerateChunk> chunks = collect(edge().generate(prompt("after the swap", 3)));
    assertThat(chunks.get(0).getServedBy().getModelVersion()).isEqualTo("v2");
    assertThat(node.host().current().orElseThrow()).isNotSameAs(before);
  }

  @Test
  void generate_secondCallWithTheSameRequestIdWhileTheFirstRuns_bothCompleteAndEchoTheId() throws Exception {
    var async = InferenceGrpc.newStub(channel(Role.EDGE)).withDeadlineAfter(60, TimeUnit.SECONDS);
    try {
      Call first = Call.start(async, prompt("a long first try", 300).toBuilder().setRequestId("same-id").build());
      first.firstChunk.get(30, TimeUnit.SECONDS); // running, so its id is in flight
      Call second = Call.start(async, prompt("the retry", 8).toBuilder().setRequestId("same-id").build());
      assertThat(second.outcome.get(30, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
      assertThat(first.outcome.get(60, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
      for (Call c : List.of(first, second)) {
        assertThat(c.finished()).as("ended with a finish reason").isTrue();
        assertThat(c.requestIds()).containsOnly("same-id");
      }
    } finally {
      awaitIdle();
    }
  }

  @Test
  void generate_firstCallCancelledAfterARetryWithTheSameId_retryStillCompletes() throws Exception {
    var async = InferenceGrpc.newStub(channel(Role.EDGE)).withDeadlineAfter(60, TimeUnit.SECONDS);
    try {
      io.grpc.Context.CancellableContext gaveUp = io.grpc.Context.current().withCancellation();
      Call first = gaveUp.call(() -> Call.start(async,
          prompt("a client that gives up", 400).toBuilder().setRequestId("retried").build()));
      first.firstChunk.get(30, TimeUnit.SECONDS);
      Call retry = Call.start(async, prompt("a client that gives up", 100).toBuilder().setRequestId("retried").build());
      retry.firstChunk.get(30, TimeUnit.SECONDS); // before the fix: INVALID_ARGUMENT, no chunk ever
      gaveUp.cancel(null); // the first try's cancel must not reach the retry
      // (the first may have reached its end of text already: the cancel then finds nothing)
      assertThat(first.outcome.get(30, TimeUnit.SECONDS).getCode()).isIn(Status.Code.CANCELLED, Status.Code.OK);
      assertThat(retry.outcome.get(30, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
      assertThat(retry.finished()).as("the retry ended with a finish reason").isTrue();
    } finally {
      awaitIdle();
    }
  }

  /** Waits until the model runs nothing, so no test leaves work behind for the next. */
  private static void awaitIdle() {
    ServedModel model = node.host().current().orElseThrow();
    await().atMost(Duration.ofSeconds(30)).until(() -> !model.loop().busy());
  }

  /** One asynchronous Generate call and what it received. */
  private record Call(List<GenerateChunk> chunks, CompletableFuture<Void> firstChunk,
      CompletableFuture<Status> outcome) {
    static Call start(InferenceGrpc.InferenceStub stub, GenerateRequest request) {
      Call c = new Call(Collections.synchronizedList(new ArrayList<>()), new CompletableFuture<>(),
          new CompletableFuture<>());
      stub.generate(request, TestMesh.observer((GenerateChunk chunk) -> {
        c.chunks.add(chunk);
        c.firstChunk.complete(null);
      }, c.outcome));
      return c;
    }

    boolean finished() {
      synchronized (chunks) {
        return !chunks.isEmpty()
            && chunks.get(chunks.size() - 1).getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED;
      }
    }

    List<String> requestIds() {
      synchronized (chunks) {
        return chunks.stream().map(GenerateChunk::getRequestId).distinct().toList();
      }
    }
  }

  @Test
  void generateAndListModels_requestThatDoesNotParse_invalidArgument() throws Exception {
    ManagedChannel ch = channel(Role.EDGE);
    for (byte[] garbage : new byte[][] {TestMesh.GARBAGE, TestMesh.INVALID_UTF8}) {
      Status generate = TestMesh.raw(ch, InferenceGrpc.getGenerateMethod().getFullMethodName(),
          io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING, garbage);
      assertThat(generate.getCode()).as(generate.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(generate.getDescription()).contains("GenerateRequest");
    }
    Status list = TestMesh.raw(ch, InferenceGrpc.getListModelsMethod().getFullMethodName(),
        io.grpc.MethodDescriptor.MethodType.UNARY, TestMesh.GARBAGE);
    assertThat(list.getCode()).as(list.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    // the server is fine afterwards
    assertThat(edge().listModels(ListModelsRequest.getDefaultInstance()).getModelsCount()).isEqualTo(1);
  }

  @Test
  void generate_hugeModelTenantOrRequestId_invalidArgumentNamingTheLimitWithoutEchoingTheValue() throws Exception {
    var stub = edge();
    String huge = "m".repeat(100_000);
    for (GenerateRequest r : List.of(prompt("hi", 2).toBuilder().setModel(huge).build(),
        prompt("hi", 2).toBuilder().setTenant(huge).build(),
        prompt("hi", 2).toBuilder().setRequestId(huge).build())) {
      assertThatThrownBy(() -> collect(stub.generate(r)))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("at most").hasSizeLessThan(200);
          });
    }
  }

  @Test
  void generate_longUnknownModelOrRole_echoesOnlyABoundedPrefix() throws Exception {
    var stub = edge();
    String longName = "x".repeat(200);
    assertThatThrownBy(() -> collect(stub.generate(prompt("hi", 2).toBuilder().setModel(longName).build())))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
          assertThat(e.getStatus().getDescription()).contains("x".repeat(64) + "…").doesNotContain("x".repeat(65));
        });
    String role = "r".repeat(50_000);
    assertThatThrownBy(() -> collect(stub.generate(GenerateRequest.newBuilder().setChat(ChatMessages.newBuilder()
        .addMessages(ChatMessage.newBuilder().setRole(role).setContent("x"))).build())))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith("chat.messages[0].role:").hasSizeLessThan(200);
        });
  }

  @Test
  void generate_promptSharingAPrefixWithAnEarlierOne_reportsTheCachedTokensInItsUsage() throws Exception {
    String shared = "A shared system prompt about prefix caching in the core, long enough for blocks. ".repeat(3);
    GenerateChunk first = last(collect(edge().generate(prompt(shared + "First question?", 4))));
    GenerateChunk second = last(collect(edge().generate(prompt(shared + "Second question?", 4))));
    assertThat(first.getUsage().getCachedTokens()).isZero();
    int cached = second.getUsage().getCachedTokens();
    assertThat(cached).isPositive().isLessThan(second.getUsage().getPromptTokens());
    assertThat(cached % 16).as("whole KV blocks of 16").isZero();
    assertThat(node.host().current().orElseThrow().loop().stats().prefixHitTokens()).isGreaterThanOrEqualTo(cached);
  }

  private static GenerateChunk last(List<GenerateChunk> chunks) {
    return chunks.get(chunks.size() - 1);
  }
}
