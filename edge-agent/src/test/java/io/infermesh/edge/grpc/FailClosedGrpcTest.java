package io.infermesh.edge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.Tier;
import io.infermesh.edge.GrpcTestEdge;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The gRPC API fails closed like the HTTP API: unknown hints and hint values, contradictions,
 * {@code x-infermesh-*} metadata (the HTTP headers sent where gRPC does not read them) and stop
 * strings over the bounds are INVALID_ARGUMENT naming them.
 */
class FailClosedGrpcTest {
  @TempDir static Path certs;
  private static GrpcTestEdge edge;
  private static InferenceGrpc.InferenceBlockingStub inference;

  @BeforeAll
  static void start() throws Exception {
    edge = GrpcTestEdge.start(certs);
    inference = InferenceGrpc.newBlockingStub(edge.channel);
  }

  @AfterAll
  static void stop() throws Exception {
    edge.close();
  }

  private static GenerateRequest.Builder chat() {
    return GenerateRequest.newBuilder()
        .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent("hi")))
        .setSampling(SamplingParams.newBuilder().setMaxTokens(1));
  }

  record Case(String name, GenerateRequest request, String description) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Case> refused() {
    return Stream.of(
        new Case("privacy local_only", chat().putHints("privacy", "local_only").build(),
            "hints.privacy: must be local-only, got 'local_only'"),
        new Case("privacy strict", chat().putHints("privacy", "strict").build(), "hints.privacy: must be local-only"),
        new Case("require edge", chat().putHints("require", "edge").build(), "hints.require: must be core, got 'edge'"),
        new Case("unknown hint", chat().putHints("tenant", "x").build(),
            "hints.tenant: unknown routing hint; known hints are [priority, privacy, reanswer, require]"),
        new Case("a huge unknown hint name", chat().putHints("k".repeat(100_000), "x").build(),
            "hints." + "k".repeat(40) + "…: unknown routing hint"),
        new Case("require core with model edge", chat().setModel("edge").putHints("require", "core").build(),
            "require: 'core' conflicts with model 'edge'"),
        new Case("local-only with model core", chat().setModel("core").putHints("privacy", "local-only").build(),
            "privacy: 'local-only' conflicts with model 'core'"),
        new Case("a stop string over the byte bound",
            chat().setSampling(SamplingParams.newBuilder().setMaxTokens(1).addStop("e".repeat(1_000_000))).build(),
            "stop[0]: must be at most 1024 bytes of UTF-8, got 1000000"),
        new Case("a malformed version pin", chat().putHints("model-version", "v 1").build(),
            "hints.model-version: a model version is 1 to 128 characters"),
        new Case("a pin to another version with model edge", chat().setModel("edge").putHints("model-version", "v999")
            .build(), "x-infermesh-model-version: this edge's model"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void generate_unknownHintValueConflictOrBound_isInvalidArgumentNamingIt(Case c) {
    assertThatThrownBy(() -> collect(inference.generate(c.request())))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith(c.description());
        });
  }

  @Test
  void generate_infermeshHeaderSentAsMetadata_isInvalidArgumentNamingTheKey() {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("x-infermesh-privacy", Metadata.ASCII_STRING_MARSHALLER), "local-only");
    InferenceGrpc.InferenceBlockingStub withHeader =
        inference.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));

    assertThatThrownBy(() -> collect(withHeader.generate(chat().build())))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith("x-infermesh-privacy: the gRPC API takes routing hints");
        });
  }

  private static InferenceGrpc.InferenceBlockingStub pinnedBy(String pin) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("x-infermesh-model-version", Metadata.ASCII_STRING_MARSHALLER), pin);
    return inference.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  @Test
  void generate_pinMetadataOfTheEdgesVersion_isAnsweredByTheEdge() {
    String version = edge.agent.service().model().orElseThrow().version();

    List<GenerateChunk> chunks = collect(pinnedBy(version).generate(chat().build()));

    assertThat(chunks.get(0).getServedBy().getTier()).isEqualTo(Tier.TIER_EDGE);
    assertThat(chunks.get(0).getServedBy().getModelVersion()).isEqualTo(version);
  }

  @Test
  void generate_malformedPinMetadata_isInvalidArgumentNamingTheKey() {
    assertThatThrownBy(() -> collect(pinnedBy("v1;drop").generate(chat().build())))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith("x-infermesh-model-version: a model version is");
        });
  }

  @Test
  void generate_pinMetadataAndHintDisagree_isInvalidArgument() {
    assertThatThrownBy(() -> collect(pinnedBy("v1").generate(chat().putHints("model-version", "v2").build())))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("metadata pins 'v1'").contains("'v2'");
        });
  }

  @Test
  void generate_pinToAnotherVersionWithoutACore_isUnavailableNeverALocalAnswer() {
    assertThatThrownBy(() -> collect(pinnedBy("v999").generate(chat().build())))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  @Test
  void generate_knownHints_areAccepted() {
    List<GenerateChunk> chunks = collect(inference.generate(chat().putHints("privacy", "local-only")
        .putHints("priority", "high").build()));

    assertThat(chunks.get(0).getServedBy().getRouteReason()).isEqualTo("privacy-local-only");
  }

  private static List<GenerateChunk> collect(Iterator<GenerateChunk> chunks) {
    List<GenerateChunk> out = new ArrayList<>();
    chunks.forEachRemaining(out::add);
    return out;
  }
}
