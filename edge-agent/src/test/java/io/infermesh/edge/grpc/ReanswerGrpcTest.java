package io.infermesh.edge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.Route;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.edge.GrpcTestEdge;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.config.Reanswer;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gRPC side of deferred re-answers: hint {@code reanswer: deferred} on an edge whose core is
 * unreachable gets a degraded answer whose last chunk names the re-answer in {@code ServedBy}, and
 * the id is waiting at the HTTP endpoint; other values fail closed.
 */
class ReanswerGrpcTest {
  @TempDir static Path dir;
  private static GrpcTestEdge edge;
  private static InferenceGrpc.InferenceBlockingStub inference;

  @BeforeAll
  static void start() throws Exception {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    Path certs = dir.resolve("certs");
    edge = GrpcTestEdge.start(certs, c -> c.withEscalation(Escalation.NONE.withTarget("127.0.0.1:" + deadPort,
        certs.resolve("edge-1"),
        "edge-1")).withReanswer(Reanswer.in(dir.resolve("queue"))));
    inference = InferenceGrpc.newBlockingStub(edge.channel);
  }

  @AfterAll
  static void stop() throws Exception {
    edge.close();
  }

  private static GenerateRequest.Builder chat() {
    return GenerateRequest.newBuilder().setModel("core")
        .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent("hi")))
        .setSampling(SamplingParams.newBuilder().setMaxTokens(2).setTemperature(0));
  }

  @Test
  void generate_reanswerDeferredAndCoreUnreachable_lastChunkNamesTheReanswer() {
    List<GenerateChunk> chunks = new ArrayList<>();
    inference.generate(chat().putHints("reanswer", "deferred").build()).forEachRemaining(chunks::add);

    GenerateChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.getServedBy().getRoute()).isEqualTo(Route.ROUTE_EDGE_DEGRADED);
    String id = last.getServedBy().getReanswerId();
    assertThat(id).matches("ra_[0-9a-f]{32}");
    assertThat(last.getServedBy().getReanswerRefused()).isEmpty();
    HttpTestClient.Reply waiting = new HttpTestClient(edge.agent.httpPort()).get("/v1/infermesh/answers/" + id);
    assertThat(waiting.status()).isEqualTo(202);
  }

  @Test
  void generate_noHint_namesNoReanswer() {
    List<GenerateChunk> chunks = new ArrayList<>();
    inference.generate(chat().build()).forEachRemaining(chunks::add);

    assertThat(chunks.get(chunks.size() - 1).getServedBy().getReanswerId()).isEmpty();
  }

  @Test
  void generate_unknownReanswerValue_isInvalidArgumentNamingTheHint() {
    assertThatThrownBy(() -> inference.generate(chat().putHints("reanswer", "later").build()).forEachRemaining(c -> { }))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("hints.reanswer");
        });
  }
}
