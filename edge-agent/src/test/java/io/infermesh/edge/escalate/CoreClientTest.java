package io.infermesh.edge.escalate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.Usage;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshServer;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.RoleAuthorizationPolicy;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.SamplingRequest;
import io.infermesh.edge.serve.StreamEvent;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link CoreClient} over real mTLS to a scripted core ({@link MeshServer} on port 0). */
class CoreClientTest {
  @TempDir Path dir;
  private TestPki pki;
  private MeshCredentialFiles edgeFiles;
  private final AtomicReference<GenerateRequest> received = new AtomicReference<>();
  private MeshServer server;

  @BeforeEach
  void start() throws Exception {
    pki = TestPki.create(dir);
    edgeFiles = pki.issue(Role.EDGE, "edge-0");
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private MeshServer core(Role role) throws Exception {
    server = MeshServer.builder(0)
        .credentials(pki.issue(role, "core-0"))
        .authorization(RoleAuthorizationPolicy.builder().allow(InferenceGrpc.SERVICE_NAME, Role.EDGE).build())
        .addService(new InferenceGrpc.InferenceImplBase() {
          @Override
          public void generate(GenerateRequest request, StreamObserver<GenerateChunk> out) {
            received.set(request);
            out.onNext(GenerateChunk.newBuilder().setText("ok").addTokenIds(7).build());
            out.onNext(GenerateChunk.newBuilder().setFinishReason(FinishReason.FINISH_REASON_STOP)
                .setUsage(Usage.newBuilder().setPromptTokens(3).setCompletionTokens(1)).build());
            out.onCompleted();
          }
        })
        .start();
    return server;
  }

  private CoreClient client(String target) throws Exception {
    return CoreClient.connect(Escalation.builder().target(target).tls(edgeFiles.certificateChain().getParent(), "edge-0")
        .timeout(Duration.ofSeconds(5)).maxAttempts(2).circuit(50, 2, Duration.ofMinutes(1)).build(),
        new EdgeConfig.Node("edge-0", "test-1"));
  }

  private static Escalator.Call call() {
    return new Escalator.Call("req-9", CompletionRequest.text("hello", SamplingRequest.DEFAULTS),
        new Tenant("acme", 0, 0), new RouteDecision(Route.CORE, "difficulty-high"),
        new SamplingParams(4, 0f, 1f, 0, OptionalLong.empty(), List.of()), Duration.ofSeconds(5), null);
  }

  private static StreamEvent last(CompletionStream s) throws InterruptedException {
    StreamEvent e;
    do {
      e = s.next();
    } while (e instanceof StreamEvent.Delta);
    return e;
  }

  private static int deadPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void escalate_coreAnswers_sendsTheRequestWithItsEscalationContext() throws Exception {
    core(Role.CORE);
    try (CoreClient client = client("127.0.0.1:" + server.port())) {
      StreamEvent end = last(client.escalate(call()));
      assertThat(end).isInstanceOf(StreamEvent.Done.class);
      GenerateRequest r = received.get();
      assertThat(r.getRequestId()).isEqualTo("req-9");
      assertThat(r.getTenant()).isEqualTo("acme");
      assertThat(r.getModel()).isEqualTo("auto");
      assertThat(r.getPrompt()).isEqualTo("hello");
      assertThat(r.getSampling().getMaxTokens()).isEqualTo(4);
      assertThat(r.getEscalation().getReason()).isEqualTo("difficulty-high");
      assertThat(r.getEscalation().getEdgeId()).isEqualTo(pki.idOf(Role.EDGE, "edge-0").toString());
      assertThat(client.state()).isEqualTo(CoreState.AVAILABLE);
    }
  }

  @Test
  void escalate_cascadeRejectedDraft_sendsTheDraftAlong() throws Exception {
    core(Role.CORE);
    Escalator.Call plain = call();
    Escalator.Call withDraft = new Escalator.Call(plain.requestId(), plain.request(), plain.tenant(),
        new RouteDecision(Route.CORE, "cascade-rejected"), plain.sampling(), plain.timeout(), null, "the edge's try");
    try (CoreClient client = client("127.0.0.1:" + server.port())) {
      assertThat(last(client.escalate(withDraft))).isInstanceOf(StreamEvent.Done.class);
      assertThat(received.get().getEscalation().getLocalDraft()).isEqualTo("the edge's try");
      assertThat(received.get().getEscalation().getReason()).isEqualTo("cascade-rejected");
      assertThat(last(client.escalate(plain))).isInstanceOf(StreamEvent.Done.class);
      assertThat(received.get().getEscalation().getLocalDraft()).isEmpty();
    }
  }

  @Test
  void escalate_lowPriorityHint_isSentAsTheWirePriority() throws Exception {
    core(Role.CORE);
    Escalator.Call plain = call();
    CompletionRequest r = plain.request();
    Escalator.Call low = new Escalator.Call(plain.requestId(), new CompletionRequest(r.requestId(), r.operation(),
        r.model(), r.messages(), r.prompt(), r.sampling(), Map.of("priority", "low"), r.timeout()), plain.tenant(),
        plain.decision(), plain.sampling(), plain.timeout(), null, "");
    try (CoreClient client = client("127.0.0.1:" + server.port())) {
      assertThat(last(client.escalate(low))).isInstanceOf(StreamEvent.Done.class);
      assertThat(received.get().getPriority()).isEqualTo(io.infermesh.api.v1.Priority.PRIORITY_LOW);

      assertThat(last(client.escalate(plain))).isInstanceOf(StreamEvent.Done.class);
      assertThat(received.get().getPriority()).isEqualTo(io.infermesh.api.v1.Priority.PRIORITY_UNSPECIFIED);
    }
  }

  @Test
  void escalate_staticListWithADeadCore_answersFromTheLiveOne() throws Exception {
    core(Role.CORE);
    try (CoreClient client = client("127.0.0.1:" + deadPort() + ", 127.0.0.1:" + server.port())) {
      for (int i = 0; i < 4; i++) {
        assertThat(last(client.escalate(call()))).isInstanceOf(StreamEvent.Done.class);
      }
    }
  }

  @Test
  void escalate_serverIsNotACore_isRefusedAndCounted() throws Exception {
    core(Role.EDGE); // an edge certificate on the server: the client expects role core
    try (CoreClient client = client("127.0.0.1:" + server.port())) {
      StreamEvent end = last(client.escalate(call()));
      assertThat(end).isInstanceOf(StreamEvent.Failed.class);
      assertThat(((StreamEvent.Failed) end).error().kind()).isEqualTo(EdgeException.Kind.UNAVAILABLE);
      assertThat(received.get()).isNull();
    }
  }

  @Test
  void state_coreDown_opensTheCircuitAfterTheWindow() throws Exception {
    try (CoreClient client = client("127.0.0.1:" + deadPort())) {
      for (int i = 0; i < 2; i++) {
        assertThat(last(client.escalate(call()))).isInstanceOf(StreamEvent.Failed.class);
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> client.state() == CoreState.CIRCUIT_OPEN);
    }
  }

  @Test
  void state_circuitHalfOpenWhileTheChannelStillFails_routesTheTrialCallsToTheCore() throws Exception {
    Escalation quickToHalfOpen = Escalation.builder().target("127.0.0.1:" + deadPort())
        .tls(edgeFiles.certificateChain().getParent(), "edge-0").timeout(Duration.ofSeconds(5)).maxAttempts(2)
        .circuit(50, 2, Duration.ofMillis(500)).build();
    try (CoreClient client = CoreClient.connect(quickToHalfOpen, new EdgeConfig.Node("edge-0", "test-1"))) {
      for (int i = 0; i < 2; i++) {
        assertThat(last(client.escalate(call()))).isInstanceOf(StreamEvent.Failed.class);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> client.circuit() == CircuitBreaker.State.HALF_OPEN);

      // the channel keeps failing to connect (nothing listens), yet only trial calls can close the circuit
      for (int i = 0; i < 20 && client.circuit() == CircuitBreaker.State.HALF_OPEN; i++) {
        assertThat(client.state()).isEqualTo(CoreState.AVAILABLE);
      }
    }
  }

  @Test
  void reconnectAfter_circuitOpens_dropsTheConnectionSoTrialCallsConnectAfresh() throws Exception {
    core(Role.CORE);
    try (MeshTls tls = MeshTls.builder(edgeFiles).build()) {
      ManagedChannel channel = MeshChannels.newChannel("127.0.0.1:" + server.port(), tls,
          ExpectedIdentity.roles(Role.CORE));
      try {
        await().atMost(Duration.ofSeconds(10)).until(() -> channel.getState(true) == ConnectivityState.READY);

        CoreClient.reconnectAfter(CircuitBreaker.State.OPEN, channel);

        assertThat(channel.getState(false)).isEqualTo(ConnectivityState.IDLE);
        CoreClient.reconnectAfter(CircuitBreaker.State.HALF_OPEN, channel);
        await().atMost(Duration.ofSeconds(10)).until(() -> channel.getState(true) == ConnectivityState.READY);
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
