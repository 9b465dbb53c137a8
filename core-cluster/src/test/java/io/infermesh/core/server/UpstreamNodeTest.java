package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
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
import io.infermesh.core.config.Audit;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.Engine;
import io.infermesh.core.config.Tenants;
import io.infermesh.core.upstream.FakeOpenAiServer;
import io.infermesh.node.audit.AuditFsync;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A core node with {@code engine: upstream} in front of a fake OpenAI-compatible server: the mesh's
 * mTLS, authorization, priorities (2 calls in flight, 1 queued), error mapping, cancellation,
 * metrics and health.
 */
class UpstreamNodeTest {
  private static TestMesh mesh;
  private static FakeOpenAiServer fake;
  private static CoreNode node;
  private static ManagedChannel edge;

  @BeforeAll
  static void start() throws Exception {
    mesh = new TestMesh("core-upstream");
    fake = new FakeOpenAiServer();
    node = CoreNode.start(config("core-up", fake.url()));
    edge = channel(Role.EDGE, "edge-up", node.port());
    await().atMost(Duration.ofSeconds(10)).until(() -> health(edge) == ServingStatus.SERVING);
  }

  @AfterAll
  static void stop() throws Exception {
    mesh.close();
    node.close();
    fake.close();
  }

  private static CoreConfig config(String name, String url) throws Exception {
    return config(name, upstream(url).contextLength(4096).build());
  }

  /** Forwarding to {@code url} as {@code up-model}, polled every 100 ms. */
  private static Engine.Upstream.Builder upstream(String url) {
    return Engine.Upstream.builder(url).model("up-model").timeout(Duration.ofSeconds(30))
        .health("/v1/models", Duration.ofMillis(100));
  }

  private static CoreConfig config(String name, Engine engine) throws Exception {
    mesh.issue(Role.CORE, name);
    return CoreConfig.builder(new CoreConfig.Node(name, "test-1"), new CoreConfig.Tls(mesh.root().resolve(name), name))
        .grpcPort(0)
        .model(CoreConfig.Model.builder("big-model").device("cpu").defaultMaxTokens(16).build())
        .engine(engine)
        .scheduler(CoreConfig.Scheduling.builder().maxQueued(1).maxBatchSize(2).maxBatchTokens(256).prefillChunk(64)
            .build())
        .metricsPort(0)
        .build();
  }

  private static ManagedChannel channel(Role role, String name, int port) throws Exception {
    return mesh.channel(role, name, port);
  }

  private static ServingStatus health(ManagedChannel ch) {
    return TestMesh.health(ch, InferenceGrpc.SERVICE_NAME);
  }

  private static GenerateRequest prompt(String text, int maxTokens) {
    return GenerateRequest.newBuilder().setRequestId("up-" + text.hashCode() + "-" + System.nanoTime())
        .setPrompt(text).setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens)).build();
  }

  private static List<GenerateChunk> collect(GenerateRequest r) {
    List<GenerateChunk> out = new ArrayList<>();
    InferenceGrpc.newBlockingStub(edge).withDeadlineAfter(20, TimeUnit.SECONDS).generate(r).forEachRemaining(out::add);
    return out;
  }

  private static Status statusOf(GenerateRequest r) {
    try {
      collect(r);
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  @Test
  void generate_prompt_streamsUpstreamTextUsageAndWhoServedIt() {
    List<GenerateChunk> chunks = collect(prompt("tell me", 3));
    assertThat(chunks.stream().map(GenerateChunk::getText).reduce("", String::concat)).isEqualTo("Hello from upstream");
    GenerateChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(last.getUsage().getPromptTokens()).isEqualTo(5);
    assertThat(last.getUsage().getCompletionTokens()).isEqualTo(3);
    assertThat(chunks.get(0).getServedBy().getRoute()).isEqualTo(Route.ROUTE_CORE);
    assertThat(chunks.get(0).getServedBy().getModel()).isEqualTo("big-model");
    assertThat(chunks.get(0).getServedBy().getModelVersion()).isEqualTo("upstream:up-model");
    assertThat(chunks.get(0).getServedBy().getNodeId()).isEqualTo("spiffe://mesh.test/test-1/core/core-up");
  }

  @Test
  void generate_chatAsGateway_forwardedToChatCompletions() throws Exception {
    GenerateRequest chat = GenerateRequest.newBuilder()
        .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent("hi")))
        .setPriority(Priority.PRIORITY_HIGH).build();
    List<GenerateChunk> chunks = new ArrayList<>();
    InferenceGrpc.newBlockingStub(channel(Role.GATEWAY, "gw-up", node.port())).generate(chat)
        .forEachRemaining(chunks::add);
    assertThat(chunks.get(chunks.size() - 1).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(fake.paths).contains("/v1/chat/completions");
  }

  @Test
  void generate_upstreamErrors_mappedToGrpcCodes() {
    Status bad = statusOf(prompt("fail-400", 4));
    assertThat(bad.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(bad.getDescription()).contains("max_tokens is too large");
    StatusRuntimeException limited = org.assertj.core.api.Assertions.catchThrowableOfType(
        () -> collect(prompt("fail-429", 4)), StatusRuntimeException.class);
    assertThat(limited.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(limited.getTrailers().get(InferenceService.RETRY_AFTER_MS)).isEqualTo("2000");
    assertThat(statusOf(prompt("fail-500", 4)).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void generate_badInput_invalidArgumentBeforeReachingUpstream() {
    int before = fake.bodies.size();
    Status s = statusOf(prompt("x", 0));
    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).startsWith("sampling.max_tokens:");
    assertThat(statusOf(prompt("x", 4).toBuilder().setPriorityValue(9).build()).getDescription()).startsWith("priority:");
    assertThat(statusOf(prompt("x", 4).toBuilder().setModel("other").build()).getCode()).isEqualTo(Status.Code.NOT_FOUND);
    Status tooLong = statusOf(prompt("x", 4096));
    assertThat(tooLong.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(tooLong.getDescription())
        .isEqualTo("sampling.max_tokens: 4096 leaves no room for the prompt in the model's context of 4096"
            + " (prompt + max_tokens)");
    assertThat(fake.bodies).hasSize(before);
    assertThat(statusOf(prompt("x", 4095)).getCode()).as("a one-token prompt fits").isEqualTo(Status.Code.OK);
  }

  @Test
  void generate_severalChoices_refusedNamingNBeforeReachingUpstream() {
    int before = fake.bodies.size();
    Status s = statusOf(prompt("x", 4).toBuilder().setN(2).build());
    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).isEqualTo("n: must be 1 on a core that forwards to an upstream engine");
    assertThat(fake.bodies).hasSize(before);
    assertThat(statusOf(prompt("x", 4).toBuilder().setN(1).build()).getCode()).isEqualTo(Status.Code.OK);
  }

  @Test
  void apiKeyAndSmallContext_keyedUpstreamServes_defaultMaxTokensCappedToTheContext() throws Exception {
    String key = "sk-node-key-7"; // api_key_env resolves to the same field: CoreConfigUpstreamTest
    try (FakeOpenAiServer keyed = new FakeOpenAiServer(key)) {
      CoreNode n = CoreNode.start(config("core-up-key", upstream(keyed.url()).apiKey(key, "").contextLength(10).build()));
      try {
        ManagedChannel ch = channel(Role.EDGE, "edge-up-key", n.port());
        await().atMost(Duration.ofSeconds(10)).until(() -> health(ch) == ServingStatus.SERVING);
        GenerateRequest unset = GenerateRequest.newBuilder().setPrompt("hi").build(); // default_max_tokens is 16

        List<GenerateChunk> chunks = new ArrayList<>();
        InferenceGrpc.newBlockingStub(ch).generate(unset).forEachRemaining(chunks::add);

        assertThat(chunks.get(chunks.size() - 1).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
        assertThat(keyed.bodies.get(keyed.bodies.size() - 1).path("max_tokens").asInt())
            .as("16 capped to what a context of 10 leaves after a prompt").isEqualTo(9);
        assertThat(keyed.authorizations).isNotEmpty().containsOnly("Bearer " + key);
        assertThat(InferenceGrpc.newBlockingStub(ch).listModels(ListModelsRequest.getDefaultInstance()).getModels(0)
            .getContextLength()).isEqualTo(10);
      } finally {
        n.close();
      }
    }
  }

  @Test
  void generate_sameRequestIdAsACallInFlight_bothRunAndTheIdIsForwardedAsALabel() throws Exception {
    Context.CancellableContext first = Context.current().withCancellation();
    CompletableFuture<Status> firstDone = new CompletableFuture<>();
    GenerateRequest slow = prompt("slow", 100).toBuilder().setRequestId("same-id").build();
    first.run(() -> InferenceGrpc.newStub(edge).generate(slow, TestMesh.observer(c -> {}, firstDone)));
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> fake.slowStreams.get() >= 1);
      List<GenerateChunk> second = collect(prompt("tell me", 3).toBuilder().setRequestId("same-id").build());
      assertThat(second.stream().map(GenerateChunk::getText).reduce("", String::concat)).isEqualTo("Hello from upstream");
      assertThat(second).allSatisfy(c -> assertThat(c.getRequestId()).isEqualTo("same-id"));
      assertThat(firstDone).isNotDone();
      assertThat(fake.requestIds).filteredOn("same-id"::equals).hasSize(2);
    } finally {
      first.cancel(null);
    }
    assertThat(firstDone.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    await().atMost(Duration.ofSeconds(10)).until(() -> fake.slowStreams.get() == 0);
  }

  @Test
  void generate_cancelledWhileForwarded_tenantReservationSettledAndAudited() throws Exception {
    // tokens_per_day 150: "slow" reserves 4 + 16 + 100 = 120, "tell me" 7 + 16 + 20 = 43: not both at once
    Path audit = mesh.root().resolve("audit-up");
    CoreConfig base = config("core-up-tenants", fake.url());
    CoreNode n = CoreNode.start(CoreConfig.builder(base.node(), base.tls()).grpcPort(0).metricsPort(-1)
        .model(base.model()).engine(base.engine()).scheduler(base.scheduler())
        .tenants(Tenants.builder().enforce(true).tenant("up", new Tenants.Limits(0, 0, 150, 0)).build())
        .audit(Audit.builder().enabled(audit).fsync(AuditFsync.EVERY_RECORD, Duration.ofSeconds(1)).build())
        .build());
    try {
      ManagedChannel ch = channel(Role.EDGE, "edge-up-tenants", n.port());
      await().atMost(Duration.ofSeconds(10)).until(() -> health(ch) == ServingStatus.SERVING);
      var stub = InferenceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS);
      GenerateRequest small = prompt("tell me", 20).toBuilder().setTenant("up").build();
      Context.CancellableContext ctx = Context.current().withCancellation();
      CompletableFuture<Status> slowDone = new CompletableFuture<>();
      int slowBefore = fake.slowStreams.get();
      GenerateRequest slow = prompt("slow", 100).toBuilder().setRequestId("up-slow").setTenant("up").build();
      ctx.run(() -> InferenceGrpc.newStub(ch).generate(slow, TestMesh.observer(c -> {}, slowDone)));
      await().atMost(Duration.ofSeconds(10)).until(() -> fake.slowStreams.get() > slowBefore);

      assertThatThrownBy(() -> stub.generate(small).forEachRemaining(c -> {}))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getDescription()).contains("tokens_per_day", "120 reserved"));
      ctx.cancel(null);

      assertThat(slowDone.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
      List<GenerateChunk> served = new ArrayList<>();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
          Files.readString(audit.resolve("audit-000001.jsonl"))).contains("\"request_id\":\"up-slow\""));
      stub.generate(small).forEachRemaining(served::add);
      assertThat(served.get(served.size() - 1).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
      assertThat(Files.readString(audit.resolve("audit-000001.jsonl"))).contains("\"status\":\"CANCELLED\"");
    } finally {
      n.close();
    }
  }

  @Test
  void generate_queueFullAndCancel_resourceExhaustedWithHintThenUpstreamConnectionsClosed() throws Exception {
    var async = InferenceGrpc.newStub(edge);
    List<Context.CancellableContext> contexts = new ArrayList<>();
    List<CompletableFuture<Status>> outcomes = new ArrayList<>();
    List<Metadata> trailers = new CopyOnWriteArrayList<>();
    int closedBefore = fake.closedByClient.get();
    for (int i = 0; i < 4; i++) { // 2 run, 1 waits, the 4th is refused
      Context.CancellableContext ctx = Context.current().withCancellation();
      contexts.add(ctx);
      CompletableFuture<Status> done = new CompletableFuture<>();
      outcomes.add(done);
      GenerateRequest r = prompt("slow", 100);
      ctx.run(() -> async.generate(r, TestMesh.observer(c -> {}, done, trailers)));
      if (i < 2) {
        int running = i + 1;
        await().atMost(Duration.ofSeconds(10)).until(() -> fake.slowStreams.get() >= running);
      } else if (i == 2) {
        await().atMost(Duration.ofSeconds(10)).until(() -> metrics().contains("infermesh_core_queue_depth{priority=\"normal\"} 1.0"));
      }
    }
    try {
      assertThat(outcomes.get(3).get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(trailers.get(0).get(InferenceService.RETRY_AFTER_MS)).matches("\\d+");
      assertThat(fake.slowStreams.get()).isEqualTo(2); // the third waits in the gate
    } finally {
      contexts.forEach(c -> c.cancel(null));
    }
    for (int i = 0; i < 3; i++) {
      assertThat(outcomes.get(i).get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> fake.closedByClient.get() - closedBefore >= 2);
    await().atMost(Duration.ofSeconds(10)).until(() -> fake.slowStreams.get() == 0);
  }

  @Test
  void listModelsAndMetrics_afterRequests_reportTheUpstreamModelAndGateMeters() throws Exception {
    collect(prompt("metrics", 3));
    var models = InferenceGrpc.newBlockingStub(edge).listModels(ListModelsRequest.getDefaultInstance()).getModelsList();
    assertThat(models).singleElement().satisfies(m -> {
      assertThat(m.getName()).isEqualTo("big-model");
      assertThat(m.getReady()).isTrue();
      assertThat(m.getContextLength()).as("engine.upstream.context_length").isEqualTo(4096);
    });
    assertThat(metrics()).contains("infermesh_core_queue_depth{priority=\"high\"}")
        .contains("infermesh_core_batch_running").contains("infermesh_core_tokens_generated_total")
        .contains("gen_ai_server_time_to_first_token_seconds");
  }

  private static String metrics() throws Exception {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.metricsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  @Test
  void health_upstreamGoesAway_notServingAndCallsUnavailable() throws Exception {
    FakeOpenAiServer other = new FakeOpenAiServer();
    CoreNode second = CoreNode.start(config("core-up-2", other.url()));
    try {
      ManagedChannel ch = channel(Role.EDGE, "edge-up-2", second.port());
      await().atMost(Duration.ofSeconds(10)).until(() -> health(ch) == ServingStatus.SERVING);
      other.close();
      await().atMost(Duration.ofSeconds(10)).until(() -> health(ch) == ServingStatus.NOT_SERVING);
      assertThatThrownBy(() -> InferenceGrpc.newBlockingStub(ch).generate(prompt("hi", 2)).forEachRemaining(c -> {}))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    } finally {
      second.close();
    }
  }
}
