package io.infermesh.edge.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.infermesh.api.v1.AdminGrpc;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.DrainRequest;
import io.infermesh.api.v1.DrainResponse;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelVersionsRequest;
import io.infermesh.api.v1.ListModelVersionsResponse;
import io.infermesh.api.v1.LoadModelRequest;
import io.infermesh.api.v1.LoadModelResponse;
import io.infermesh.api.v1.ModelState;
import io.infermesh.api.v1.ModelVersion;
import io.infermesh.api.v1.RollbackRequest;
import io.infermesh.api.v1.Route;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.UndrainRequest;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.GrpcTestEdge;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.ModelDigest;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.SamplingRequest;
import io.infermesh.edge.serve.StreamEvent;
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
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongPredicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's Admin service on a real edge agent over mutual TLS: listing, swapping to a second
 * tiny GGUF and rolling back under continuous traffic, digest refusals, draining, and roles.
 */
class EdgeAdminTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  @TempDir static Path certs;
  private static TestPki pki;
  private static MeshCredentialFiles edgeFiles;
  private static MeshTls operatorTls;
  private static MeshTls gatewayTls;
  private static Path v1;
  private static Path v2;
  private static String v1Sha;
  private static String v2Sha;
  private static String v1Version;

  private EdgeAgent agent;
  private ManagedChannel operatorChannel;
  private ManagedChannel gatewayChannel;
  private AdminGrpc.AdminBlockingStub admin;
  private InferenceGrpc.InferenceBlockingStub inference;

  @BeforeAll
  static void pki() throws Exception {
    pki = TestPki.create(certs);
    edgeFiles = pki.issue(Role.EDGE, "edge-1");
    operatorTls = MeshTls.builder(pki.issue(Role.OPERATOR, "op-1")).build();
    gatewayTls = MeshTls.builder(pki.issue(Role.GATEWAY, "gw-1")).build();
    v1 = TinyModel.path();
    v2 = TinyModels.write(TinyModelSpec.edge(GgmlType.Q4_0), TinyModel.directory());
    v1Sha = ModelDigest.sha256(v1);
    v2Sha = ModelDigest.sha256(v2);
    v1Version = TinyModel.engine().info().version();
  }

  @AfterAll
  static void closeTls() {
    operatorTls.close();
    gatewayTls.close();
  }

  @BeforeEach
  void start() throws Exception {
    EdgeConfig config = TinyModel.config().withGrpc(new EdgeConfig.Grpc("127.0.0.1", 0,
        Optional.of(EdgeConfig.Tls.builder(edgeFiles.certificateChain(), edgeFiles.privateKey())
            .clientCa(edgeFiles.trustBundle()).allowedRoles(List.of("gateway")).build())));
    agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start();
    operatorChannel = channel(operatorTls);
    gatewayChannel = channel(gatewayTls);
    admin = AdminGrpc.newBlockingStub(operatorChannel).withDeadlineAfter(60, TimeUnit.SECONDS);
    inference = InferenceGrpc.newBlockingStub(gatewayChannel);
  }

  @AfterEach
  void stop() throws Exception {
    operatorChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    gatewayChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    agent.close();
  }

  private ManagedChannel channel(MeshTls tls) {
    return MeshChannels.newChannel("127.0.0.1:" + agent.grpcPort().getAsInt(), tls, ExpectedIdentity.roles(Role.EDGE));
  }

  private static GenerateRequest chat(String content, int maxTokens, float temperature) {
    return GenerateRequest.newBuilder().setModel(TinyModel.NAME)
        .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent(content)))
        .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(temperature))
        .build();
  }

  /** The first chunk (it carries ServedBy), after reading the whole answer. */
  private static GenerateChunk answer(InferenceGrpc.InferenceBlockingStub stub, GenerateRequest request) {
    Iterator<GenerateChunk> chunks = stub.withDeadlineAfter(60, TimeUnit.SECONDS).generate(request);
    GenerateChunk first = chunks.next();
    chunks.forEachRemaining(c -> {});
    return first;
  }

  private static LoadModelRequest swapTo(Path file, String sha256, String version, long drainMs) {
    return LoadModelRequest.newBuilder().setPath(file.toString()).putSha256(file.getFileName().toString(), sha256)
        .setVersion(version).setDrainTimeoutMs(drainMs).build();
  }

  private static void assertCode(Runnable call, Status.Code code, String... inDescription) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      if (inDescription.length > 0) {
        assertThat(e.getStatus().getDescription()).contains(inDescription);
      }
    });
  }

  @Test
  void listModels_asOperator_namesTheServingFileWithItsDigest() {
    ListModelVersionsResponse r = admin.listModels(ListModelVersionsRequest.getDefaultInstance());

    assertThat(r.getNodeId()).endsWith("/edge/edge-1");
    assertThat(r.getDrained()).isFalse();
    assertThat(r.getModelsList()).singleElement().satisfies(m -> {
      assertThat(m.getName()).isEqualTo(TinyModel.NAME);
      assertThat(m.getVersion()).isEqualTo(v1Version);
      assertThat(m.getState()).isEqualTo(ModelState.MODEL_STATE_SERVING);
      assertThat(m.getPath()).isEqualTo(v1.toString());
      assertThat(m.getWeightFilesList()).singleElement().satisfies(f -> {
        assertThat(f.getFile()).isEqualTo(v1.getFileName().toString());
        assertThat(f.getSha256()).isEqualTo(v1Sha);
      });
    });
  }

  @Test
  void admin_asEdgeCoreOrGateway_isPermissionDeniedAndChangesNothing() throws Exception {
    for (Role role : List.of(Role.EDGE, Role.CORE, Role.GATEWAY)) {
      String name = "not-an-operator-" + role.name().toLowerCase(Locale.ROOT);
      try (MeshTls tls = MeshTls.builder(pki.issue(role, name)).build()) {
        ManagedChannel other = channel(tls);
        try {
          AdminGrpc.AdminBlockingStub stub = AdminGrpc.newBlockingStub(other);
          assertCode(() -> stub.listModels(ListModelVersionsRequest.getDefaultInstance()),
              Status.Code.PERMISSION_DENIED);
          assertCode(() -> stub.drain(DrainRequest.getDefaultInstance()), Status.Code.PERMISSION_DENIED);
          assertCode(() -> stub.loadModel(swapTo(v2, v2Sha, "v2", 0)), Status.Code.PERMISSION_DENIED);
        } finally {
          other.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
    }
    ListModelVersionsResponse r = admin.listModels(ListModelVersionsRequest.getDefaultInstance());
    assertThat(r.getDrained()).isFalse();
    assertThat(r.getModelsList()).extracting(ModelVersion::getVersion).containsExactly(v1Version);
  }

  @Test
  void loadModel_withAWrongDigest_isRefusedNamingTheFileAndBothDigests_andNothingIsLoaded() {
    String wrong = "0".repeat(64);
    assertCode(() -> admin.loadModel(swapTo(v2, wrong, "v2", 0)), Status.Code.FAILED_PRECONDITION,
        v2.toString(), v2Sha, wrong);
    assertCode(() -> admin.loadModel(swapTo(v2, v2Sha, "v2", 0).toBuilder().clearSha256()
        .putSha256("other.gguf", v2Sha).build()), Status.Code.INVALID_ARGUMENT, "sha256[other.gguf]");
    assertCode(() -> admin.loadModel(swapTo(v2.resolveSibling("missing.gguf"), v2Sha, "v2", 0)),
        Status.Code.NOT_FOUND, "missing.gguf");
    assertCode(() -> admin.loadModel(swapTo(v2, "abc", "v2", 0)), Status.Code.INVALID_ARGUMENT, "64 hex digits");
    assertCode(() -> admin.rollback(RollbackRequest.getDefaultInstance()), Status.Code.FAILED_PRECONDITION,
        "no previous version");

    assertThat(admin.listModels(ListModelVersionsRequest.getDefaultInstance()).getModelsList())
        .extracting(ModelVersion::getVersion).containsExactly(v1Version);
    assertThat(answer(inference, chat("hi", 2, 0.7f)).getServedBy().getModelVersion()).isEqualTo(v1Version);
  }

  /** One answer under load: when it ran (ticker nanos), which version served it, what failed. */
  private record Outcome(long started, long ended, String version, String failure) {}

  @Test
  void swapAndRollback_underContinuousTraffic_failNothing_andEachAnswerNamesItsVersion() throws Exception {
    List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger sent = new AtomicInteger();
    List<Thread> clients = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Thread t = new Thread(() -> {
        while (running.get()) {
          long started = System.nanoTime();
          try {
            GenerateChunk first = answer(inference, chat("tell me about swaps " + sent.incrementAndGet(), 8, 0.7f));
            outcomes.add(new Outcome(started, System.nanoTime(), first.getServedBy().getModelVersion(), null));
          } catch (RuntimeException e) {
            outcomes.add(new Outcome(started, System.nanoTime(), "", e.toString()));
          }
        }
      }, "swap-traffic-" + i);
      t.start();
      clients.add(t);
    }
    try {
      awaitAnswers(outcomes, o -> true, 30);
      long swapStart = System.nanoTime();
      LoadModelResponse swapped = admin.loadModel(swapTo(v2, v2Sha, "v2", 60_000));
      long swapEnd = System.nanoTime();
      assertThat(swapped.getServing().getVersion()).isEqualTo("v2");
      assertThat(swapped.getServing().getWeightFiles(0).getSha256()).isEqualTo(v2Sha);
      assertThat(swapped.getReplaced().getVersion()).isEqualTo(v1Version);
      awaitAnswers(outcomes, started -> started > swapEnd, 30);
      await().atMost(WAIT).until(() -> admin.listModels(ListModelVersionsRequest.getDefaultInstance())
          .getModelsList().stream().noneMatch(m -> m.getState() == ModelState.MODEL_STATE_DRAINING));

      long rollbackStart = System.nanoTime();
      LoadModelResponse rolledBack = admin.rollback(RollbackRequest.newBuilder().setDrainTimeoutMs(60_000).build());
      long rollbackEnd = System.nanoTime();
      assertThat(rolledBack.getServing().getVersion()).isEqualTo(v1Version);
      assertThat(rolledBack.getReplaced().getVersion()).isEqualTo("v2");
      awaitAnswers(outcomes, started -> started > rollbackEnd, 30);
      running.set(false);
      for (Thread t : clients) {
        t.join(WAIT.toMillis());
      }

      List<Outcome> all;
      synchronized (outcomes) {
        all = List.copyOf(outcomes);
      }
      assertThat(all).extracting(Outcome::failure).containsOnlyNulls();
      assertThat(all).filteredOn(o -> o.ended() < swapStart).extracting(Outcome::version).containsOnly(v1Version);
      assertThat(all).filteredOn(o -> o.started() > swapEnd && o.ended() < rollbackStart)
          .extracting(Outcome::version).isNotEmpty().containsOnly("v2");
      assertThat(all).filteredOn(o -> o.started() > rollbackEnd).extracting(Outcome::version)
          .isNotEmpty().containsOnly(v1Version);
      List<Outcome> before = all.stream().filter(o -> o.ended() < swapStart).toList();
      List<Outcome> during = all.stream().filter(o -> overlaps(o, swapStart, swapEnd)
          || overlaps(o, rollbackStart, rollbackEnd)).toList();
      System.out.printf("edge swap under load (3 gRPC clients, 8 tokens each, tiny Q8_0 -> Q4_0 -> rollback):"
              + " %d answers, 0 failed; swap took %d ms, rollback %d ms%n  before: %s%n  during: %s%n", all.size(),
          (swapEnd - swapStart) / 1_000_000, (rollbackEnd - rollbackStart) / 1_000_000, latencies(before),
          latencies(during));
    } finally {
      running.set(false);
    }
  }

  private static boolean overlaps(Outcome o, long from, long to) {
    return o.started() < to && o.ended() > from;
  }

  private static String latencies(List<Outcome> outcomes) {
    if (outcomes.isEmpty()) {
      return "n=0";
    }
    long[] ms = outcomes.stream().mapToLong(o -> (o.ended() - o.started()) / 1_000).sorted().toArray();
    return String.format("n=%d p50=%.1f ms p99=%.1f ms", ms.length, ms[(int) Math.floor(0.50 * (ms.length - 1))] / 1e3,
        ms[(int) Math.ceil(0.99 * (ms.length - 1))] / 1e3);
  }

  private static void awaitAnswers(List<Outcome> outcomes, LongPredicate startedWhen, int count) {
    await().atMost(WAIT).until(() -> {
      synchronized (outcomes) {
        return outcomes.stream().filter(o -> startedWhen.test(o.started())).count() >= count;
      }
    });
  }

  @Test
  void drain_takesTheEdgeOutOfRotationUntilUndrained_andHttpAnswersNameTheirVersion() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest readyz = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort() + "/readyz")).build();
    HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(gatewayChannel);

    DrainResponse drained = admin.drain(DrainRequest.getDefaultInstance());

    assertThat(drained.getDrained()).isTrue();
    assertThat(drained.getReady()).isFalse();
    assertThat(drained.getInFlight()).isZero();
    assertThat(http.send(readyz, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);
    assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(health.check(HealthCheckRequest.newBuilder().setService(InferenceGrpc.SERVICE_NAME).build())
        .getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
    assertCode(() -> answer(inference, chat("hi", 2, 0.7f)), Status.Code.UNAVAILABLE, "drained by an operator");
    HttpResponse<String> refused = httpChat(http);
    assertThat(refused.statusCode()).isEqualTo(503);
    assertThat(refused.body()).contains("drained by an operator");
    assertThat(admin.listModels(ListModelVersionsRequest.getDefaultInstance()).getDrained()).isTrue();
    assertThat(admin.drain(DrainRequest.getDefaultInstance()).getDrained()).isTrue(); // idempotent

    DrainResponse undrained = admin.undrain(UndrainRequest.getDefaultInstance());

    assertThat(undrained.getDrained()).isFalse();
    assertThat(undrained.getReady()).isTrue();
    assertThat(http.send(readyz, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus()).isEqualTo(ServingStatus.SERVING);
    assertThat(answer(inference, chat("hi", 2, 0.7f)).getServedBy().getModelVersion()).isEqualTo(v1Version);
    HttpResponse<String> answered = httpChat(http);
    assertThat(answered.statusCode()).isEqualTo(200);
    assertThat(answered.headers().firstValue("x-infermesh-model-version")).hasValue(v1Version);
    admin.loadModel(swapTo(v2, v2Sha, "v2", 0));
    assertThat(httpChat(http).headers().firstValue("x-infermesh-model-version")).hasValue("v2");
  }

  private HttpResponse<String> httpChat(HttpClient http) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort() + "/v1/chat/completions"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"auto\",\"max_tokens\":2,\"temperature\":0.7,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void swap_whileTheOldVersionDrains_isAborted_andItsDrainTimeoutFailsTheHeldRequestRetryably() throws Exception {
    CompletionStream held = agent.service().open(CompletionRequest.chat(
        List.of(io.infermesh.edge.engine.ChatMessage.of(io.infermesh.edge.engine.Role.USER, "hold on")),
        new SamplingRequest(200, 0.7, null, null, null, List.of())), Tenant.ANONYMOUS);
    try {
      // 1 ms: the held request is stopped whether it is still waiting to start or already generating
      LoadModelResponse swapped = admin.loadModel(swapTo(v2, v2Sha, "v2", 1));
      assertThat(swapped.getReplaced().getState()).isEqualTo(ModelState.MODEL_STATE_DRAINING);
      assertThat(swapped.getReplaced().getInFlight()).isEqualTo(1);
      assertThat(held.served().modelVersion()).isEqualTo(v1Version);
      assertCode(() -> admin.loadModel(swapTo(v1, v1Sha, "v3", 0)), Status.Code.ABORTED, "still drains");
      assertThat(answer(inference, chat("new", 2, 0.7f)).getServedBy().getModelVersion()).isEqualTo("v2");

      StreamEvent end = held.next();
      while (end instanceof StreamEvent.Delta) {
        end = held.next();
      }
      assertThat(end).isInstanceOfSatisfying(StreamEvent.Failed.class, f -> {
        assertThat(f.error().kind()).isEqualTo(EdgeException.Kind.UNAVAILABLE);
        assertThat(f.error().getMessage()).contains("model version " + v1Version, "drain timeout", "retry");
      });
    } finally {
      held.close();
    }
    await().atMost(WAIT).until(() -> admin.listModels(ListModelVersionsRequest.getDefaultInstance())
        .getModelsList().stream().map(ModelVersion::getState).toList()
        .equals(List.of(ModelState.MODEL_STATE_SERVING, ModelState.MODEL_STATE_PREVIOUS)));
  }

  @Test
  void rollback_whileThePreviousVersionStillDrains_reactivatesItWithoutLoading() throws Exception {
    CompletionStream held = agent.service().open(CompletionRequest.chat(
        List.of(io.infermesh.edge.engine.ChatMessage.of(io.infermesh.edge.engine.Role.USER, "hold on")),
        new SamplingRequest(4, 0.7, null, null, null, List.of())), Tenant.ANONYMOUS);
    try {
      admin.loadModel(swapTo(v2, v2Sha, "v2", 60_000));

      LoadModelResponse back = admin.rollback(RollbackRequest.getDefaultInstance());

      assertThat(back.getServing().getVersion()).isEqualTo(v1Version);
      assertThat(back.getServing().getInFlight()).isEqualTo(1); // the same engine: the held request is on it
      assertThat(back.getReplaced().getVersion()).isEqualTo("v2");
      assertThat(back.getReplaced().getState()).isEqualTo(ModelState.MODEL_STATE_PREVIOUS);
      assertThat(agent.service().engine().orElseThrow()).isSameAs(TinyModel.engine());
      StreamEvent end = held.next();
      while (end instanceof StreamEvent.Delta) {
        end = held.next();
      }
      assertThat(end).isInstanceOf(StreamEvent.Done.class);
    } finally {
      held.close();
    }
  }

  @Test
  void admin_onAnEdgeWithoutClientCertificates_isNotServed(@TempDir Path tlsOnlyCerts) throws Exception {
    try (GrpcTestEdge tlsOnly = GrpcTestEdge.start(tlsOnlyCerts)) {
      AdminGrpc.AdminBlockingStub stub = AdminGrpc.newBlockingStub(tlsOnly.channel);
      assertCode(() -> stub.drain(DrainRequest.getDefaultInstance()), Status.Code.UNIMPLEMENTED);
      assertThat(tlsOnly.agent.service().ready()).isTrue();
    }
  }

  @Test
  void cache_afterASwap_neverReplaysTheOldVersionsAnswer() {
    GenerateRequest same = chat("cache me", 6, 0f);
    assertThat(answer(inference, same).getServedBy().getRoute()).isEqualTo(Route.ROUTE_EDGE);
    GenerateChunk replay = answer(inference, same).toBuilder().build();
    assertThat(replay.getServedBy().getRoute()).isEqualTo(Route.ROUTE_CACHE);
    assertThat(replay.getServedBy().getModelVersion()).isEqualTo(v1Version);

    admin.loadModel(swapTo(v2, v2Sha, "v2", 0));

    GenerateChunk after = answer(inference, same);
    assertThat(after.getServedBy().getRoute()).isEqualTo(Route.ROUTE_EDGE);
    assertThat(after.getServedBy().getModelVersion()).isEqualTo("v2");
    assertThat(answer(inference, same).getServedBy().getRoute()).isEqualTo(Route.ROUTE_CACHE);
  }
}
