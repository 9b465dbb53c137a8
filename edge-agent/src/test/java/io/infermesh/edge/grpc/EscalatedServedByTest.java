package io.infermesh.edge.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.Route;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.api.v1.Tier;
import io.infermesh.api.v1.Usage;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshServer;
import io.infermesh.certs.Role;
import io.infermesh.certs.RoleAuthorizationPolicy;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An answer the edge escalates tells who produced it: over the edge's gRPC API, {@code served_by}
 * names the core node and its region (as the core reported them, over real mTLS), and carries no
 * token ids in the edge's vocabulary; a local answer still names the edge and its ids.
 */
class EscalatedServedByTest {
  private static final ServedBy CORE_SERVED_BY = ServedBy.newBuilder().setTier(Tier.TIER_CORE)
      .setNodeId("spiffe://mesh.local/us-east/core/gpu-7").setRegion("us-east").setModel("core-model")
      .setModelVersion("v7").setRoute(Route.ROUTE_CORE).build();
  private static MeshServer core;
  private static EdgeAgent agent;
  private static ManagedChannel channel;
  private static String edgeRegion;

  @BeforeAll
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("escalated-served-by");
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles edgeFiles = pki.issue(Role.EDGE, "edge-0");
    core = MeshServer.builder(0)
        .credentials(pki.issue(Role.CORE, "core-0"))
        .authorization(RoleAuthorizationPolicy.builder().allow(InferenceGrpc.SERVICE_NAME, Role.EDGE).build())
        .addService(new ScriptedCore())
        .start();
    EdgeConfig config = TinyModel.config()
        .withGrpc(new EdgeConfig.Grpc("127.0.0.1", 0, Optional.of(EdgeConfig.Tls.builder(edgeFiles.certificateChain(),
            edgeFiles.privateKey()).build())))
        .withEscalation(Escalation.builder().target("127.0.0.1:" + core.port())
            .tls(edgeFiles.certificateChain().getParent(), "edge-0").timeout(Duration.ofSeconds(20)).build())
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)));
    edgeRegion = config.node().region();
    agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start();
    channel = Grpc.newChannelBuilderForAddress("localhost", agent.grpcPort().getAsInt(),
        TlsChannelCredentials.newBuilder().trustManager(edgeFiles.trustBundle().toFile()).build()).build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (agent != null) {
      agent.close();
    }
    if (core != null) {
      core.close();
    }
  }

  private static List<GenerateChunk> generate(String model) {
    GenerateRequest request = GenerateRequest.newBuilder().setModel(model)
        .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent("hello")))
        .setSampling(SamplingParams.newBuilder().setMaxTokens(4).setTemperature(0f)).build();
    List<GenerateChunk> out = new ArrayList<>();
    InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).generate(request)
        .forEachRemaining(out::add);
    return out;
  }

  @Test
  void generate_escalatedToTheCore_servedByNamesTheCoreNodeAndRegionWithoutEdgeTokenIds() {
    List<GenerateChunk> chunks = generate("core");

    GenerateChunk first = chunks.get(0);
    GenerateChunk last = chunks.get(chunks.size() - 1);
    for (GenerateChunk c : List.of(first, last)) {
      assertThat(c.getServedBy().getTier()).isEqualTo(Tier.TIER_CORE);
      assertThat(c.getServedBy().getNodeId()).isEqualTo(CORE_SERVED_BY.getNodeId());
      assertThat(c.getServedBy().getRegion()).isEqualTo("us-east");
      assertThat(c.getServedBy().getModel()).isEqualTo("core-model");
    }
    assertThat(chunks.stream().map(GenerateChunk::getText).reduce("", String::concat)).isEqualTo("from the core");
    assertThat(chunks).allSatisfy(c -> assertThat(c.getTokenIdsList()).isEmpty());
  }

  @Test
  void generate_answeredLocally_servedByNamesThisEdgeWithItsTokenIds() {
    List<GenerateChunk> chunks = generate("edge");

    ServedBy servedBy = chunks.get(0).getServedBy();
    assertThat(servedBy.getTier()).isEqualTo(Tier.TIER_EDGE);
    assertThat(servedBy.getNodeId()).isNotEmpty().isNotEqualTo(CORE_SERVED_BY.getNodeId());
    assertThat(servedBy.getRegion()).isEqualTo(edgeRegion);
    assertThat(chunks.stream().mapToInt(GenerateChunk::getTokenIdsCount).sum()).isPositive();
  }

  /** A core that answers "from the core" in its own vocabulary's ids, naming itself on its first and last chunk. */
  private static final class ScriptedCore extends InferenceGrpc.InferenceImplBase {
    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateChunk> out) {
      out.onNext(GenerateChunk.newBuilder().setText("from").addTokenIds(90_001).setServedBy(CORE_SERVED_BY).build());
      out.onNext(GenerateChunk.newBuilder().setText(" the core").addTokenIds(90_002).addTokenIds(90_003).build());
      out.onNext(GenerateChunk.newBuilder().setFinishReason(FinishReason.FINISH_REASON_STOP)
          .setUsage(Usage.newBuilder().setPromptTokens(5).setCompletionTokens(3)).setServedBy(CORE_SERVED_BY).build());
      out.onCompleted();
    }
  }
}
