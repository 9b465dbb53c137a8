package io.infermesh.edge.escalate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ToolCallPart;
import io.infermesh.api.v1.ToolTurn;
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
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.engine.ToolForm;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.SamplingRequest;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.models.chat.ChatTurn;
import io.infermesh.models.chat.ToolCalls;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
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
  private final AtomicInteger calls = new AtomicInteger();
  /** How the scripted core answers; by default "ok" and STOP. */
  private BiConsumer<GenerateRequest, ServerCallStreamObserver<GenerateChunk>> answer = (request, out) -> {
    out.onNext(GenerateChunk.newBuilder().setText("ok").addTokenIds(7).build());
    out.onNext(GenerateChunk.newBuilder().setFinishReason(FinishReason.FINISH_REASON_STOP)
        .setUsage(Usage.newBuilder().setPromptTokens(3).setCompletionTokens(1)).build());
    out.onCompleted();
  };
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
            calls.incrementAndGet();
            answer.accept(request, (ServerCallStreamObserver<GenerateChunk>) out);
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
    return call(1);
  }

  private static Escalator.Call call(int choices) {
    return new Escalator.Call("req-9", CompletionRequest.text("hello", SamplingRequest.DEFAULTS).withChoices(choices),
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

  private static GenerateChunk chunk(int index, String text) {
    return GenerateChunk.newBuilder().setIndex(index).setText(text).addTokenIds(5).build();
  }

  private static GenerateChunk end(int index, int completionTokens) {
    return GenerateChunk.newBuilder().setIndex(index).setFinishReason(FinishReason.FINISH_REASON_LENGTH)
        .setUsage(Usage.newBuilder().setPromptTokens(3).setCompletionTokens(completionTokens)).build();
  }

  private static String text(CompletionStream s, StringBuilder into) throws InterruptedException {
    StreamEvent e;
    while ((e = s.next()) instanceof StreamEvent.Delta d) {
      into.append(d.text());
    }
    assertThat(e).isInstanceOf(StreamEvent.Done.class);
    return into.toString();
  }

  @Test
  void escalate_threeChoices_oneCallSplitIntoAStreamPerChoice() throws Exception {
    answer = (request, out) -> {
      out.onNext(chunk(0, "a").toBuilder().setServedBy(io.infermesh.api.v1.ServedBy.newBuilder().setModel("big")
          .setModelVersion("v2")).build());
      out.onNext(chunk(2, "c"));
      out.onNext(chunk(1, "b"));
      out.onNext(chunk(2, "cc"));
      out.onNext(end(1, 1));
      out.onNext(chunk(0, "aa"));
      out.onNext(end(0, 2));
      out.onNext(end(2, 2));
      out.onCompleted();
    };
    core(Role.CORE);
    try (CoreClient client = client("127.0.0.1:" + server.port())) {
      CompletionStream first = client.escalate(call(3));
      assertThat(text(first, new StringBuilder())).isEqualTo("aaa");
      assertThat(first.served().modelVersion()).isEqualTo("v2");
      CompletionStream second = first.choice(1).orElseThrow();
      CompletionStream third = first.choice(2).orElseThrow();
      assertThat(text(second, new StringBuilder())).isEqualTo("b");
      assertThat(text(third, new StringBuilder())).isEqualTo("ccc");
      assertThat(((StreamEvent.Done) third.next()).usage()).isEqualTo(new io.infermesh.edge.serve.Usage(3, 2, 0));
      assertThat(first.choice(3)).isEmpty();
      assertThat(received.get().getN()).isEqualTo(3);
      assertThat(calls.get()).isEqualTo(1);
      assertThat(client.circuit()).isEqualTo(CircuitBreaker.State.CLOSED);
    }
  }

  @Test
  void escalate_oneChoice_sendsNoN() throws Exception {
    core(Role.CORE);
    try (CoreClient client = client("127.0.0.1:" + server.port())) {
      CompletionStream s = client.escalate(call(1));
      assertThat(last(s)).isInstanceOf(StreamEvent.Done.class);
      assertThat(received.get().getN()).isZero();
      assertThat(s.choice(1)).isEmpty();
    }
  }

  @Test
  void escalate_everyChoiceClosedBeforeItsEnd_cancelsTheCall() throws Exception {
    AtomicBoolean cancelled = new AtomicBoolean();
    answer = (request, out) -> {
      out.setOnCancelHandler(() -> cancelled.set(true));
      out.onNext(chunk(0, "a"));
      out.onNext(chunk(1, "b")); // and never an end
    };
    core(Role.CORE);
    try (CoreClient client = client("127.0.0.1:" + server.port())) {
      CompletionStream first = client.escalate(call(2));
      assertThat(first.next()).isEqualTo(new StreamEvent.Delta("a"));
      first.close();
      assertThat(cancelled).as("choice 1 is still wanted").isFalse();
      first.choice(1).orElseThrow().close();
      await().atMost(Duration.ofSeconds(10)).untilTrue(cancelled);
    }
  }

  @Test
  void escalate_chatWithToolTurns_sendsTheFallbackTextAndTheTurnsAsSent() throws Exception {
    core(Role.CORE);
    String tool = "{\"type\":\"function\",\"function\":{\"name\":\"f\"}}";
    List<ChatMessage> chat = List.of(
        new ChatMessage(io.infermesh.edge.engine.Role.SYSTEM, "tools listed", "",
            Optional.of(new ToolForm(Optional.empty(), List.of(tool)))),
        ChatMessage.of(io.infermesh.edge.engine.Role.USER, "hi"),
        new ChatMessage(io.infermesh.edge.engine.Role.ASSISTANT, "<tool_call>…", "",
            Optional.of(ToolForm.of(ChatTurn.assistant("", List.of(new ToolCalls.Call("f", "{}", "call_1")))))),
        new ChatMessage(io.infermesh.edge.engine.Role.USER, "<tool_response>…", "",
            Optional.of(ToolForm.of(ChatTurn.tool("call_1", "42")))));
    Escalator.Call plain = call();
    Escalator.Call withTools = plain.withRequest(CompletionRequest.chat(chat, SamplingRequest.DEFAULTS));
    try (CoreClient client = client("127.0.0.1:" + server.port())) {
      assertThat(last(client.escalate(withTools))).isInstanceOf(StreamEvent.Done.class);
    }
    List<io.infermesh.api.v1.ChatMessage> sent = received.get().getChat().getMessagesList();

    assertThat(sent).extracting(io.infermesh.api.v1.ChatMessage::getContent)
        .containsExactly("tools listed", "hi", "<tool_call>…", "<tool_response>…");
    assertThat(sent.get(0).getToolTurn()).isEqualTo(ToolTurn.newBuilder().addTools(tool).build());
    assertThat(sent.get(1).hasToolTurn()).isFalse();
    assertThat(sent.get(2).getToolTurn()).isEqualTo(ToolTurn.newBuilder().setRole("assistant").addToolCalls(
        ToolCallPart.newBuilder().setId("call_1").setName("f").setArguments("{}")).build());
    assertThat(sent.get(3).getToolTurn()).isEqualTo(ToolTurn.newBuilder().setRole("tool").setContent("42")
        .setToolCallId("call_1").build());
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
