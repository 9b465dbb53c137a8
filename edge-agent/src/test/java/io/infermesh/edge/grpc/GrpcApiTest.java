package io.infermesh.edge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.EmbedResponse;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.FunctionTool;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import io.infermesh.api.v1.ResponseFormat;
import io.infermesh.api.v1.Route;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.Tier;
import io.infermesh.api.v1.ToolCalling;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.FakeEngine;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The gRPC API over mutual TLS (and TLS alone), against real agents. */
class GrpcApiTest {
  private static final String KEY = "sk-grpc-test-000001";
  @TempDir static Path certs;
  private static TestPki pki;
  private static MeshCredentialFiles edgeFiles;
  private static EdgeAgent agent;
  private static MeshTls gatewayTls;
  private static ManagedChannel channel;
  private static InferenceGrpc.InferenceBlockingStub inference;

  @BeforeAll
  static void start() throws Exception {
    pki = TestPki.create(certs);
    edgeFiles = pki.issue(Role.EDGE, "edge-1");
    EdgeConfig config = TinyModel.config()
        .withGrpc(gatewayGrpc())
        .withAuth(new EdgeConfig.Auth(List.of(EdgeConfig.Tenant.builder("acme").keys(KEY).build())));
    agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start();
    gatewayTls = MeshTls.builder(pki.issue(Role.GATEWAY, "gw-1")).build();
    channel = gatewayChannel(agent);
    inference = withKey(InferenceGrpc.newBlockingStub(channel), KEY);
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    gatewayTls.close();
    agent.close();
  }

  private static InferenceGrpc.InferenceBlockingStub withKey(InferenceGrpc.InferenceBlockingStub stub, String key) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + key);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /** The gRPC API over mTLS, open to the mesh's gateways. */
  private static EdgeConfig.Grpc gatewayGrpc() {
    return new EdgeConfig.Grpc("127.0.0.1", 0, Optional.of(EdgeConfig.Tls.builder(edgeFiles.certificateChain(),
        edgeFiles.privateKey()).clientCa(edgeFiles.trustBundle()).allowedRoles(List.of("gateway")).build()));
  }

  /** A channel to {@code edge}'s gRPC API as gateway gw-1. */
  private static ManagedChannel gatewayChannel(EdgeAgent edge) {
    return MeshChannels.newChannel("127.0.0.1:" + edge.grpcPort().getAsInt(), gatewayTls,
        ExpectedIdentity.roles(Role.EDGE));
  }

  private static GenerateRequest chat(String content, int maxTokens, float temperature) {
    return GenerateRequest.newBuilder()
        .setModel("tiny-edge")
        .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent(content)))
        .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(temperature))
        .build();
  }

  private static List<GenerateChunk> collect(Iterator<GenerateChunk> chunks) {
    List<GenerateChunk> out = new ArrayList<>();
    chunks.forEachRemaining(out::add);
    return out;
  }

  @Test
  void generate_toolCallingRequired_endsWithToolCallsAndACallBlock() {
    List<GenerateChunk> chunks = collect(inference.generate(chat("what time is it", 64, 0.7f).toBuilder()
        .setToolCalling(ToolCalling.newBuilder().setChoice("required")
            .addFunctions(FunctionTool.newBuilder().setName("now"))).build()));

    String text = chunks.stream().map(GenerateChunk::getText).reduce("", String::concat);
    assertThat(text).isEqualTo("<tool_call>\n{\"name\":\"now\",\"arguments\":{}}\n</tool_call>");
    assertThat(chunks.get(chunks.size() - 1).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
  }

  @Test
  void generate_responseFormatSchema_answerIsTheOnlyValue() {
    List<GenerateChunk> chunks = collect(inference.generate(chat("pick", 32, 0.7f).toBuilder()
        .setResponseFormat(ResponseFormat.newBuilder().setJsonSchema("{\"enum\":[\"only\"]}")).build()));

    assertThat(chunks.stream().map(GenerateChunk::getText).reduce("", String::concat)).isEqualTo("\"only\"");
    assertThat(chunks.get(chunks.size() - 1).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
  }

  @Test
  void generate_responseFormatUnsupportedKeyword_invalidArgumentNamingIt() {
    assertThatThrownBy(() -> collect(inference.generate(chat("x", 8, 0.7f).toBuilder()
        .setResponseFormat(ResponseFormat.newBuilder().setJsonSchema("{\"type\":\"string\",\"format\":\"email\"}"))
        .build())))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("response_format.json_schema").contains("format");
        });
  }

  @Test
  void generate_severalChoices_invalidArgumentNamingN() {
    assertThatThrownBy(() -> collect(inference.generate(chat("x", 8, 0.7f).toBuilder().setN(2).build())))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith("n: ");
        });
    assertThat(collect(inference.generate(chat("x", 2, 0.7f).toBuilder().setN(1).build()))).isNotEmpty();
  }

  @Test
  void generate_streamsChunksWithServedByFinishAndUsage() {
    List<GenerateChunk> chunks = collect(inference.generate(chat("hello over grpc", 6, 0.7f).toBuilder()
        .setRequestId("grpc-req-1").build()));

    assertThat(chunks).hasSizeGreaterThan(1).allSatisfy(c -> assertThat(c.getRequestId()).isEqualTo("grpc-req-1"));
    GenerateChunk first = chunks.get(0);
    assertThat(first.getServedBy().getTier()).isEqualTo(Tier.TIER_EDGE);
    assertThat(first.getServedBy().getNodeId()).isEqualTo("spiffe://" + TestPki.TRUST_DOMAIN + "/" + TestPki.REGION + "/edge/edge-1");
    assertThat(first.getServedBy().getRoute()).isEqualTo(Route.ROUTE_EDGE);
    assertThat(first.getServedBy().getRouteReason()).isEqualTo("no-core-configured");
    assertThat(first.getServedBy().getModel()).isEqualTo("tiny-edge");
    assertThat(first.getServedBy().getModelVersion()).hasSize(12);
    GenerateChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(last.getUsage().getCompletionTokens()).isEqualTo(6);
    assertThat(last.getUsage().getPromptTokens()).isGreaterThan(5);
    assertThat(last.hasServedBy()).isTrue();
    assertThat(chunks.subList(0, chunks.size() - 1)).allSatisfy(c -> {
      assertThat(c.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_UNSPECIFIED);
      assertThat(c.hasUsage()).isFalse();
      assertThat(c.getText()).isNotEmpty();
      assertThat(c.getTokenIdsCount()).isPositive();
    });
  }

  @Test
  void generate_sameGreedyRequestTwice_secondIsServedFromTheCache() {
    List<GenerateChunk> first = collect(inference.generate(chat("cache over grpc", 5, 0f)));
    List<GenerateChunk> second = collect(inference.generate(chat("cache over grpc", 5, 0f)));

    assertThat(first.get(0).getServedBy().getRoute()).isEqualTo(Route.ROUTE_EDGE);
    assertThat(second.get(0).getServedBy().getRoute()).isEqualTo(Route.ROUTE_CACHE);
    assertThat(second.stream().map(GenerateChunk::getText).toList())
        .isEqualTo(first.stream().map(GenerateChunk::getText).toList());
    assertThat(second.get(second.size() - 1).getUsage().getCachedTokens())
        .isEqualTo(second.get(second.size() - 1).getUsage().getPromptTokens());
  }

  @Test
  void generate_rawPrompt_works() {
    GenerateRequest prompt = GenerateRequest.newBuilder().setPrompt("Once upon a time")
        .setSampling(SamplingParams.newBuilder().setMaxTokens(3)).build();

    List<GenerateChunk> chunks = collect(inference.generate(prompt));

    assertThat(chunks.get(chunks.size() - 1).getUsage().getCompletionTokens()).isEqualTo(3);
  }

  @Test
  void listModels_reportsTheLoadedModel() {
    var models = inference.listModels(ListModelsRequest.getDefaultInstance()).getModelsList();

    assertThat(models).singleElement().satisfies(m -> {
      assertThat(m.getName()).isEqualTo("tiny-edge");
      assertThat(m.getTier()).isEqualTo(Tier.TIER_EDGE);
      assertThat(m.getContextLength()).isEqualTo(TinyModel.CONTEXT);
      assertThat(m.getReady()).isTrue();
    });
  }

  @Test
  void embed_aBatch_onTheEdgeInInputOrder() {
    EmbedResponse r = inference.embed(EmbedRequest.newBuilder().addInput("hello").addInput("a fox")
        .addInput("hello").build());

    assertThat(r.getEmbeddingsCount()).isEqualTo(3);
    assertThat(r.getEmbeddings(0).getValuesList()).isEqualTo(r.getEmbeddings(2).getValuesList())
        .isNotEqualTo(r.getEmbeddings(1).getValuesList());
    assertThat(r.getServedBy().getTier()).isEqualTo(Tier.TIER_EDGE);
    assertThat(r.getServedBy().getRouteReason()).isEqualTo("embeddings-edge");
  }

  @Test
  void health_reportsServing() {
    HealthCheckResponse response = HealthGrpc.newBlockingStub(channel)
        .check(HealthCheckRequest.newBuilder().setService(InferenceGrpc.SERVICE_NAME).build());

    assertThat(response.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
  }

  @Test
  void generate_withoutApiKey_isUnauthenticated() {
    InferenceGrpc.InferenceBlockingStub anonymous = InferenceGrpc.newBlockingStub(channel);

    assertThatThrownBy(() -> collect(anonymous.generate(chat("hi", 2, 1f))))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
  }

  @Test
  void generate_fromARoleNotAllowed_isPermissionDenied() throws Exception {
    try (MeshTls coreTls = MeshTls.builder(pki.issue(Role.CORE, "core-1")).build()) {
      ManagedChannel core = MeshChannels.newChannel("127.0.0.1:" + agent.grpcPort().getAsInt(), coreTls,
          ExpectedIdentity.roles(Role.EDGE));
      try {
        assertThatThrownBy(() -> collect(withKey(InferenceGrpc.newBlockingStub(core), KEY).generate(chat("hi", 2, 1f))))
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
      } finally {
        core.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** One row of the gRPC bad-input table: the same messages as the HTTP API. */
  record Case(String name, GenerateRequest request, Status.Code code, String description) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Case> badInputs() {
    GenerateRequest ok = chat("hi", 4, 1f);
    SamplingParams s = ok.getSampling();
    return Stream.of(
        new Case("empty messages", ok.toBuilder().setChat(ChatMessages.getDefaultInstance()).build(),
            Status.Code.INVALID_ARGUMENT, "messages: must contain at least one message"),
        new Case("no input", ok.toBuilder().clearChat().build(), Status.Code.INVALID_ARGUMENT,
            "input: set either chat (messages) or prompt"),
        new Case("unknown role", ok.toBuilder().setChat(ChatMessages.newBuilder().addMessages(
            ChatMessage.newBuilder().setRole("wizard").setContent("hi"))).build(), Status.Code.INVALID_ARGUMENT,
            "messages[0].role: unknown role 'wizard'; expected one of system, user, assistant"),
        new Case("empty user content", ok.toBuilder().setChat(ChatMessages.newBuilder().addMessages(
            ChatMessage.newBuilder().setRole("user"))).build(), Status.Code.INVALID_ARGUMENT,
            "messages[0].content: must not be empty for a user message"),
        new Case("unknown priority hint", ok.toBuilder().putHints("priority", "urgent").build(),
            Status.Code.INVALID_ARGUMENT, "hints.priority: must be high, normal or low, got 'urgent'"),
        new Case("max_tokens zero", ok.toBuilder().setSampling(s.toBuilder().setMaxTokens(0)).build(),
            Status.Code.INVALID_ARGUMENT, "max_tokens: must be at least 1, got 0"),
        new Case("max_tokens beyond the context", ok.toBuilder().setSampling(s.toBuilder().setMaxTokens(100000)).build(),
            Status.Code.INVALID_ARGUMENT, "max_tokens: must be at most 512 (the model's context length), got 100000"),
        new Case("temperature above 2", ok.toBuilder().setSampling(s.toBuilder().setTemperature(2.5f)).build(),
            Status.Code.INVALID_ARGUMENT, "temperature: must be between 0 and 2, got 2.5"),
        new Case("top_p zero", ok.toBuilder().setSampling(s.toBuilder().setTopP(0f)).build(),
            Status.Code.INVALID_ARGUMENT, "top_p: must be greater than 0 and at most 1, got 0.0"),
        new Case("unknown model", ok.toBuilder().setModel("gpt-4o").build(), Status.Code.NOT_FOUND,
            "model: the model 'gpt-4o' does not exist or is not served here; available: tiny-edge (aliases: auto, edge)"),
        new Case("prompt longer than the context", chat("lorem ipsum dolor ".repeat(400), 4, 1f),
            Status.Code.INVALID_ARGUMENT, "messages: the prompt is"),
        new Case("bad request id", ok.toBuilder().setRequestId("has spaces").build(), Status.Code.INVALID_ARGUMENT,
            "request_id: must be at most 128 printable ASCII characters without spaces"),
        new Case("tenant of another key", ok.toBuilder().setTenant("globex").build(), Status.Code.INVALID_ARGUMENT,
            "tenant: the API key belongs to tenant 'acme'"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badInputs")
  void generate_badInput_isRefusedWithTheSameMessageAsHttp(Case c) {
    assertThatThrownBy(() -> collect(inference.generate(c.request())))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(c.code());
          assertThat(e.getStatus().getDescription()).startsWith(c.description());
        });

    assertThat(collect(inference.generate(chat("still serving", 1, 1f)))).isNotEmpty();
  }

  @Test
  void generate_invalidUtf8InAStringField_isInvalidArgument() {
    byte[] bytes = chat("caf\u00e9", 2, 1f).toByteArray();
    byte[] accent = "\u00e9".getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i + 1 < bytes.length; i++) {
      if (bytes[i] == accent[0] && bytes[i + 1] == accent[1]) {
        bytes[i + 1] = '('; // a lead byte followed by ASCII: not UTF-8
      }
    }
    MethodDescriptor<byte[], GenerateChunk> raw = InferenceGrpc.getGenerateMethod().toBuilder(
        new BytesMarshaller(), InferenceGrpc.getGenerateMethod().getResponseMarshaller()).build();

    assertThatThrownBy(() -> ClientCalls.blockingServerStreamingCall(
            inference.getChannel(), raw, inference.getCallOptions(), bytes).forEachRemaining(c -> {}))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).isEqualTo("request: a string field is not valid UTF-8");
        });
  }

  @Test
  void listModels_requestThatDoesNotParse_isInvalidArgument() {
    MethodDescriptor<byte[], io.infermesh.api.v1.ListModelsResponse> raw = InferenceGrpc.getListModelsMethod()
        .toBuilder(new BytesMarshaller(), InferenceGrpc.getListModelsMethod().getResponseMarshaller()).build();
    byte[] garbage = {0x0a, 0x7f, 0x01}; // field 1 claims 127 bytes; one follows

    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(inference.getChannel(), raw, inference.getCallOptions(),
        garbage))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("ListModelsRequest");
        });
    assertThat(inference.listModels(ListModelsRequest.getDefaultInstance()).getModelsCount()).isEqualTo(1);
  }

  @Test
  void generate_hugeModelTenantOrRequestId_isInvalidArgumentNamingTheLimitWithoutEchoingIt() {
    String huge = "a".repeat(100_000);
    for (GenerateRequest r : List.of(chat("hi", 2, 1f).toBuilder().setModel(huge).build(),
        chat("hi", 2, 1f).toBuilder().setTenant(huge).build(),
        chat("hi", 2, 1f).toBuilder().setRequestId(huge).build())) {
      assertThatThrownBy(() -> collect(inference.generate(r)))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("at most").hasSizeLessThan(200);
          });
    }
  }

  @Test
  void generate_overTlsWithoutClientCertificates_authenticatesByApiKey(@TempDir Path dir) throws Exception {
    EdgeConfig config = TinyModel.config()
        .withGrpc(new EdgeConfig.Grpc("127.0.0.1", 0, Optional.of(EdgeConfig.Tls.builder(edgeFiles.certificateChain(),
            edgeFiles.privateKey()).build())))
        .withAuth(new EdgeConfig.Auth(List.of(EdgeConfig.Tenant.builder("acme").keys(KEY).build())));
    try (EdgeAgent tlsOnly = EdgeAgent.builder(config).engine(TinyModel.engine()).start()) {
      ManagedChannel plain = Grpc.newChannelBuilderForAddress("localhost", tlsOnly.grpcPort().getAsInt(),
          TlsChannelCredentials.newBuilder().trustManager(edgeFiles.trustBundle().toFile()).build()).build();
      try {
        List<GenerateChunk> chunks = collect(withKey(InferenceGrpc.newBlockingStub(plain), KEY).generate(chat("tls", 2, 1f)));

        assertThat(chunks.get(chunks.size() - 1).getUsage().getCompletionTokens()).isEqualTo(2);
        assertThat(chunks.get(0).getServedBy().getNodeId()).isEqualTo("edge");
      } finally {
        plain.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void generate_chatTheTemplateRefuses_isInvalidArgumentWithItsMessage() throws Exception {
    FakeEngine fake = new FakeEngine(512, 1);
    fake.refuseChats("roles must alternate");
    EdgeConfig config = TinyModel.config().withGrpc(gatewayGrpc());
    try (EdgeAgent refusing = EdgeAgent.builder(config).engine(fake).start()) {
      ManagedChannel ch = gatewayChannel(refusing);
      try {
        GenerateRequest request = chat("hi", 4, 1f).toBuilder().setModel("fake").build();

        assertThatThrownBy(() -> collect(InferenceGrpc.newBlockingStub(ch).generate(request)))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription()).isEqualTo("messages: the model's chat template refused the "
                  + "chat: roles must alternate");
            });
        assertThat(fake.started()).isZero();
      } finally {
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void admission_fullQueueIsResourceExhaustedWithARetryHint_andCancellationStopsGeneration() throws Exception {
    FakeEngine fake = new FakeEngine(512, 1);
    EdgeConfig config = TinyModel.config()
        .withGrpc(gatewayGrpc())
        .withAdmission(new EdgeConfig.Admission(0, Duration.ofMillis(1500), Duration.ofMinutes(1)));
    try (EdgeAgent small = EdgeAgent.builder(config).engine(fake).start()) {
      ManagedChannel ch = gatewayChannel(small);
      try {
        fake.hold();
        InferenceGrpc.InferenceBlockingStub stub = InferenceGrpc.newBlockingStub(ch);
        GenerateRequest request = chat("hi", 50, 1f).toBuilder().setModel("fake").build();
        io.grpc.Context.CancellableContext call = io.grpc.Context.current().withCancellation();
        Iterator<GenerateChunk> running = call.call(() -> stub.generate(request));
        assertThat(running.next().getText()).isEqualTo("tok0");

        assertThatThrownBy(() -> collect(stub.generate(request)))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
              assertThat(e.getTrailers().get(GrpcErrors.RETRY_AFTER_MS)).isEqualTo("1500");
            });

        call.cancel(null);
        await().atMost(Duration.ofSeconds(10)).until(() -> fake.cancelled() == 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> small.service().inFlight() == 0);
      } finally {
        fake.release();
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void generate_pastTheCallersDeadline_stopsGeneration() throws Exception {
    FakeEngine fake = new FakeEngine(512, 1);
    EdgeConfig config = TinyModel.config().withGrpc(gatewayGrpc());
    try (EdgeAgent small = EdgeAgent.builder(config).engine(fake).start()) {
      ManagedChannel ch = gatewayChannel(small);
      try {
        HealthGrpc.newBlockingStub(ch).check(HealthCheckRequest.getDefaultInstance()); // connect first
        fake.hold();
        InferenceGrpc.InferenceBlockingStub stub = InferenceGrpc.newBlockingStub(ch)
            .withDeadlineAfter(1, TimeUnit.SECONDS);

        assertThatThrownBy(() -> collect(stub.generate(chat("hi", 50, 1f).toBuilder().setModel("fake").build())))
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        await().atMost(Duration.ofSeconds(10)).until(() -> fake.cancelled() == 1);
      } finally {
        fake.release();
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** Sends pre-encoded request bytes as they are. */
  private static final class BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
