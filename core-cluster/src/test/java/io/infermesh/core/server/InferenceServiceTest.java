package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.Engine;
import io.infermesh.core.upstream.FakeOpenAiServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The one Inference service over both backends: two real nodes serving a model of the same name,
 * one on the built-in engine (the tiny core model), one forwarding to a fake OpenAI-compatible
 * upstream. Whatever does not depend on the engine is checked once, in the service, so the same
 * bad request gets the same status and description from both — and never reaches the upstream.
 */
class InferenceServiceTest {
  private static TestMesh mesh;
  private static FakeOpenAiServer fake;
  private static CoreNode builtIn;
  private static CoreNode upstream;
  private static ManagedChannel toBuiltIn;
  private static ManagedChannel toUpstream;

  @BeforeAll
  static void start() throws Exception {
    mesh = new TestMesh("core-one-service");
    fake = new FakeOpenAiServer();
    builtIn = CoreNode.start(mesh.tinyCore(CoreConfig.Scheduling.builder().maxQueued(4).maxBatchSize(2)
        .contextLength(512).build()));
    builtIn.loadConfiguredModel();
    mesh.issue(Role.CORE, "core-up");
    upstream = CoreNode.start(CoreConfig.builder(new CoreConfig.Node("core-up", "test-1"),
            new CoreConfig.Tls(mesh.root().resolve("core-up"), "core-up"))
        .grpcPort(0)
        .metricsPort(-1)
        .model(CoreConfig.Model.builder("tiny-core").defaultMaxTokens(16).build()) // the built-in node's name
        .engine(Engine.Upstream.builder(fake.url()).health("/v1/models", Duration.ofMillis(100)).contextLength(512)
            .build())
        .build());
    toBuiltIn = mesh.channel(Role.EDGE, "edge-b", builtIn.port());
    toUpstream = mesh.channel(Role.EDGE, "edge-u", upstream.port());
    await().atMost(Duration.ofSeconds(10))
        .until(() -> TestMesh.health(toUpstream, InferenceGrpc.SERVICE_NAME) == ServingStatus.SERVING);
  }

  @AfterAll
  static void stop() throws Exception {
    mesh.close();
    builtIn.close();
    upstream.close();
    fake.close();
  }

  private static GenerateRequest prompt(SamplingParams.Builder sampling) {
    return GenerateRequest.newBuilder().setPrompt("hello").setSampling(sampling.setMaxTokens(4)).build();
  }

  private static Status generate(ManagedChannel ch, GenerateRequest r) {
    StatusRuntimeException e = catchThrowableOfType(() -> InferenceGrpc.newBlockingStub(ch)
        .withDeadlineAfter(20, TimeUnit.SECONDS).generate(r).forEachRemaining((GenerateChunk c) -> {}),
        StatusRuntimeException.class);
    return e == null ? Status.OK : e.getStatus();
  }

  private static Status embed(ManagedChannel ch, EmbedRequest r) {
    StatusRuntimeException e = catchThrowableOfType(() -> InferenceGrpc.newBlockingStub(ch)
        .withDeadlineAfter(20, TimeUnit.SECONDS).embed(r), StatusRuntimeException.class);
    return e == null ? Status.OK : e.getStatus();
  }

  /** Same code, same description ({@link Status} has no equals). */
  private static void assertSameStatus(Status actual, Status expected) {
    assertThat(actual.getCode()).as(expected.toString()).isEqualTo(expected.getCode());
    assertThat(actual.getDescription()).as(expected.toString()).isEqualTo(expected.getDescription());
  }

  @Test
  void generate_sameInvalidRequest_sameStatusNamingTheFieldFromBothBackends() {
    Map<String, GenerateRequest> bad = Map.ofEntries(
        Map.entry("request_id", prompt(SamplingParams.newBuilder()).toBuilder().setRequestId("has space").build()),
        Map.entry("tenant", prompt(SamplingParams.newBuilder()).toBuilder().setTenant("t".repeat(129)).build()),
        Map.entry("priority", prompt(SamplingParams.newBuilder()).toBuilder().setPriorityValue(9).build()),
        Map.entry("sampling.temperature", prompt(SamplingParams.newBuilder().setTemperature(Float.NaN))),
        Map.entry("sampling.top_p", prompt(SamplingParams.newBuilder().setTopP(-0.5f))),
        Map.entry("sampling.top_k", prompt(SamplingParams.newBuilder().setTopK(-1))),
        Map.entry("sampling.presence_penalty", prompt(SamplingParams.newBuilder().setPresencePenalty(5f))),
        Map.entry("sampling.logit_bias", prompt(SamplingParams.newBuilder().putLogitBias(-1, 1f))),
        Map.entry("sampling.top_logprobs", prompt(SamplingParams.newBuilder().setTopLogprobs(3))),
        Map.entry("sampling.stop", prompt(SamplingParams.newBuilder().addAllStop(List.of("a", "b", "c", "d", "e")))),
        Map.entry("sampling.max_tokens", prompt(SamplingParams.newBuilder()).toBuilder()
            .setSampling(SamplingParams.newBuilder().setMaxTokens(0)).build()),
        Map.entry("prompt", GenerateRequest.newBuilder().setPrompt("").build()),
        Map.entry("chat.messages", GenerateRequest.newBuilder().setChat(ChatMessages.getDefaultInstance()).build()),
        Map.entry("chat.messages[0].role", GenerateRequest.newBuilder().setChat(ChatMessages.newBuilder()
            .addMessages(ChatMessage.newBuilder().setRole("wizard").setContent("x"))).build()),
        Map.entry("input", GenerateRequest.getDefaultInstance()));
    int forwardedBefore = fake.bodies.size();

    bad.forEach((field, request) -> {
      Status fromBuiltIn = generate(toBuiltIn, request);
      Status fromUpstream = generate(toUpstream, request);

      assertThat(fromBuiltIn.getCode()).as(field).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(fromBuiltIn.getDescription()).as(field).startsWith(field + ":");
      assertSameStatus(fromUpstream, fromBuiltIn);
    });
    Status notServed = generate(toBuiltIn, prompt(SamplingParams.newBuilder()).toBuilder().setModel("gpt-9").build());
    assertThat(notServed.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertSameStatus(generate(toUpstream, prompt(SamplingParams.newBuilder()).toBuilder().setModel("gpt-9").build()),
        notServed);
    assertThat(fake.bodies).as("nothing invalid was forwarded").hasSize(forwardedBefore);
  }

  @Test
  void generate_validRequest_servedByEachBackendThroughTheSameService() {
    GenerateRequest ok = prompt(SamplingParams.newBuilder().setTemperature(0f)).toBuilder().setModel("auto").build();

    assertThat(generate(toBuiltIn, ok).getCode()).isEqualTo(Status.Code.OK);
    assertThat(generate(toUpstream, ok).getCode()).isEqualTo(Status.Code.OK);
  }

  @Test
  void embed_sameInvalidRequest_sameStatusFromBothBackends_thenOnlyTheBuiltInEmbeds() {
    EmbedRequest none = EmbedRequest.getDefaultInstance();
    EmbedRequest emptyText = EmbedRequest.newBuilder().addInput("ok").addInput("").build();
    EmbedRequest otherModel = EmbedRequest.newBuilder().addInput("ok").setModel("gpt-9").build();

    for (EmbedRequest r : List.of(none, emptyText, otherModel)) {
      Status fromBuiltIn = embed(toBuiltIn, r);
      assertThat(fromBuiltIn.getCode()).isIn(Status.Code.INVALID_ARGUMENT, Status.Code.NOT_FOUND);
      assertSameStatus(embed(toUpstream, r), fromBuiltIn);
    }
    assertThat(embed(toBuiltIn, none).getDescription()).startsWith("input:");
    assertThat(embed(toBuiltIn, emptyText).getDescription()).startsWith("input[1]:");
    EmbedRequest valid = EmbedRequest.newBuilder().addInput("ok").build();
    assertThat(embed(toBuiltIn, valid).getCode()).isEqualTo(Status.Code.OK);
    assertThat(embed(toUpstream, valid).getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
  }
}
