package io.infermesh.core.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.infermesh.api.v1.AdminGrpc;
import io.infermesh.api.v1.DrainRequest;
import io.infermesh.api.v1.DrainResponse;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelVersionsRequest;
import io.infermesh.api.v1.ListModelVersionsResponse;
import io.infermesh.api.v1.LoadModelRequest;
import io.infermesh.api.v1.LoadModelResponse;
import io.infermesh.api.v1.ModelState;
import io.infermesh.api.v1.ModelVersion;
import io.infermesh.api.v1.RollbackRequest;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.UndrainRequest;
import io.infermesh.api.v1.WeightFile;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.server.CoreNode;
import io.infermesh.models.ModelDigests;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tiny.VocabularyKind;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Admin service of a real core node (mTLS on port 0, the tiny core model and a second version
 * with other weights): what an operator may do, what everyone else may not, pinned digests, and a
 * swap and a rollback under continuous traffic that lose nothing.
 */
class CoreAdminTest {
  private static final AtomicInteger IDENTITIES = new AtomicInteger();
  private TestMesh mesh;
  private CoreNode node;
  private Path v1;
  private Path v2;

  @BeforeEach
  void start() throws Exception {
    mesh = new TestMesh("core-admin");
    CoreConfig config = mesh.tinyCore(CoreConfig.Scheduling.builder()
        .maxQueued(16).maxBatchSize(8).maxBatchTokens(256).prefillChunk(64).contextLength(512).build());
    node = CoreNode.start(config);
    node.loadConfiguredModel();
    v1 = config.model().path();
    v2 = TinyModels.write(new TinyModelSpec("core-two", VocabularyKind.BPE, 128, 4, 8, 2, 384, 1024, GgmlType.F32,
        42L), v1.getParent());
  }

  @AfterEach
  void stop() throws Exception {
    mesh.close();
    node.close();
  }

  private ManagedChannel channel(Role role) throws Exception {
    return mesh.channel(role, role.pathName() + "-" + IDENTITIES.incrementAndGet(), node.port());
  }

  private AdminGrpc.AdminBlockingStub operator() throws Exception {
    return AdminGrpc.newBlockingStub(channel(Role.OPERATOR));
  }

  private static LoadModelRequest load(Path model, String version) throws Exception {
    return LoadModelRequest.newBuilder().setPath(model.toString()).setVersion(version)
        .putSha256(model.getFileName().toString(), ModelDigests.sha256(model)).build();
  }

  private static Status.Code code(Runnable call) {
    try {
      call.run();
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  @Test
  void listModels_asOperator_servingVersionWithTheSha256OfItsWeightFile() throws Exception {
    ListModelVersionsResponse r = operator().listModels(ListModelVersionsRequest.getDefaultInstance());
    assertThat(r.getNodeId()).isEqualTo("spiffe://mesh.test/test-1/core/core-0");
    assertThat(r.getDrained()).isFalse();
    assertThat(r.getModelsList()).hasSize(1);
    ModelVersion m = r.getModels(0);
    assertThat(m.getName()).isEqualTo("tiny-core");
    assertThat(m.getState()).isEqualTo(ModelState.MODEL_STATE_SERVING);
    assertThat(m.getVersion()).isEqualTo("sha256:" + ModelDigests.sha256(v1).substring(0, 12));
    assertThat(m.getWeightFilesList()).containsExactly(WeightFile.newBuilder()
        .setFile(v1.getFileName().toString()).setSha256(ModelDigests.sha256(v1)).build());
  }

  @Test
  void admin_asEdgeCoreOrGateway_permissionDeniedAndNothingChanges() throws Exception {
    LoadModelRequest swap = load(v2, "v2");
    for (Role role : List.of(Role.EDGE, Role.CORE, Role.GATEWAY)) {
      AdminGrpc.AdminBlockingStub stub = AdminGrpc.newBlockingStub(channel(role));
      assertThat(code(() -> stub.listModels(ListModelVersionsRequest.getDefaultInstance())))
          .as(role.pathName()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(code(() -> stub.loadModel(swap))).as(role.pathName()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(code(() -> stub.rollback(RollbackRequest.getDefaultInstance()))).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(code(() -> stub.drain(DrainRequest.getDefaultInstance()))).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(code(() -> stub.undrain(UndrainRequest.getDefaultInstance())))
          .isEqualTo(Status.Code.PERMISSION_DENIED);
    }
    assertThat(node.host().current().orElseThrow().version()).startsWith("sha256:");
    assertThat(TestMesh.health(channel(Role.EDGE), InferenceGrpc.SERVICE_NAME)).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void loadModel_sha256Mismatch_failedPreconditionNamingTheFile_oldVersionServes() throws Exception {
    LoadModelRequest wrong = LoadModelRequest.newBuilder().setPath(v2.toString()).setVersion("v2")
        .putSha256(v2.getFileName().toString(), ModelDigests.sha256(v1)).build();
    String v2Digest = ModelDigests.sha256(v2);
    assertThatThrownBy(() -> operator().loadModel(wrong)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(e.getStatus().getDescription()).contains(v2.toString()).contains(v2Digest)
          .contains("nothing was loaded");
    });
    assertThat(node.host().current().orElseThrow().version()).startsWith("sha256:");
    assertThat(node.host().draining()).isEmpty();
  }

  @Test
  void loadModel_digestsNotCoveringEveryWeightFile_invalidArgumentNamingTheEntry() throws Exception {
    LoadModelRequest other = LoadModelRequest.newBuilder().setPath(v2.toString())
        .putSha256("model.safetensors", ModelDigests.sha256(v2)).build();
    assertThatThrownBy(() -> operator().loadModel(other)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).startsWith("sha256[model.safetensors]:")
          .contains(v2.getFileName().toString());
    });
    LoadModelRequest none = LoadModelRequest.newBuilder().setPath(v2.toString()).build();
    assertThatThrownBy(() -> operator().loadModel(none)).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getDescription()).startsWith("sha256: required"));
  }

  @Test
  void loadModel_malformedFields_invalidArgumentNamingTheField() throws Exception {
    AdminGrpc.AdminBlockingStub op = operator();
    LoadModelRequest ok = load(v2, "v2");
    assertInvalid(op, ok.toBuilder().setDrainTimeoutMs(-1).build(), "drain_timeout_ms:");
    assertInvalid(op, ok.toBuilder().setDrainTimeoutMs(3_600_001).build(), "drain_timeout_ms:");
    assertInvalid(op, ok.toBuilder().setVersion("v 2").build(), "version:");
    assertInvalid(op, ok.toBuilder().setPath("").build(), "path:");
    assertInvalid(op, ok.toBuilder().putSha256(v2.getFileName().toString(), "abc").build(),
        "sha256[" + v2.getFileName() + "]:");
    LoadModelRequest missing = ok.toBuilder().setPath(v2 + ".missing").build();
    assertThatThrownBy(() -> op.loadModel(missing)).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  private static void assertInvalid(AdminGrpc.AdminBlockingStub op, LoadModelRequest r, String prefix) {
    assertThatThrownBy(() -> op.loadModel(r)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).startsWith(prefix);
    });
  }

  @Test
  void loadModel_relativePath_resolvedNextToTheConfiguredModel() throws Exception {
    LoadModelRequest r = load(v2, "v2").toBuilder().setPath(v2.getFileName().toString()).build();
    LoadModelResponse swapped = operator().loadModel(r);
    assertThat(swapped.getServing().getPath()).isEqualTo(v2.toString());
    assertThat(swapped.getServing().getVersion()).isEqualTo("v2");
  }

  @Test
  void rollback_withoutPreviousVersion_failedPrecondition() throws Exception {
    AdminGrpc.AdminBlockingStub op = operator();
    assertThat(code(() -> op.rollback(RollbackRequest.getDefaultInstance()))).isEqualTo(Status.Code.FAILED_PRECONDITION);
  }

  @Test
  void swapThenRollback_underContinuousTraffic_noRequestFailsAndEachAnswerNamesItsVersion() throws Exception {
    AdminGrpc.AdminBlockingStub op = operator();
    String v1Version = node.host().current().orElseThrow().version();
    List<SwapTraffic.Answer> answers;
    long swapStart;
    long swapDone;
    long rollbackDone;
    try (SwapTraffic traffic = new SwapTraffic(InferenceGrpc.newBlockingStub(channel(Role.EDGE)), 4, 24)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> traffic.servedBy(v1Version) >= 8);
      swapStart = System.nanoTime();
      LoadModelResponse swapped = op.loadModel(load(v2, "v2").toBuilder().setDrainTimeoutMs(30_000).build());
      swapDone = System.nanoTime();
      assertThat(swapped.getServing().getVersion()).isEqualTo("v2");
      assertThat(swapped.getReplaced().getVersion()).isEqualTo(v1Version);
      await().atMost(Duration.ofSeconds(30)).until(() -> traffic.servedBy("v2") >= 8);
      await().atMost(Duration.ofSeconds(30)).until(() -> node.host().draining().isEmpty()); // old one unloaded
      ListModelVersionsResponse listed = op.listModels(ListModelVersionsRequest.getDefaultInstance());
      assertThat(listed.getModelsList()).extracting(ModelVersion::getVersion, ModelVersion::getState)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("v2", ModelState.MODEL_STATE_SERVING),
              org.assertj.core.groups.Tuple.tuple(v1Version, ModelState.MODEL_STATE_PREVIOUS));
      LoadModelResponse back = op.rollback(RollbackRequest.getDefaultInstance());
      rollbackDone = System.nanoTime();
      assertThat(back.getServing().getVersion()).isEqualTo(v1Version);
      long after = rollbackDone;
      await().atMost(Duration.ofSeconds(30)).until(() -> traffic.startedWhen(t -> t > after).size() >= 8);
      answers = traffic.answers();
    }
    assertThat(answers).filteredOn(a -> !a.ok()).isEmpty();
    assertThat(answers).filteredOn(a -> a.endNanos() < swapStart).extracting(SwapTraffic.Answer::version)
        .isNotEmpty().containsOnly(v1Version);
    assertThat(answers).filteredOn(a -> a.startNanos() > swapDone && a.endNanos() < rollbackDone)
        .extracting(SwapTraffic.Answer::version).isNotEmpty().containsOnly("v2");
    assertThat(answers).filteredOn(a -> a.startNanos() > rollbackDone).extracting(SwapTraffic.Answer::version)
        .isNotEmpty().containsOnly(v1Version);
  }

  @Test
  void swap_drainTimeoutPassesUnderRunningRequests_theyFailUnavailableNamingTheTimeout() throws Exception {
    var async = InferenceGrpc.newStub(channel(Role.EDGE)).withDeadlineAfter(60, TimeUnit.SECONDS);
    List<CompletableFuture<Status>> outcomes = new ArrayList<>();
    CountDownLatch started = new CountDownLatch(4);
    for (int i = 0; i < 4; i++) {
      CompletableFuture<Status> done = new CompletableFuture<>();
      outcomes.add(done);
      AtomicBoolean first = new AtomicBoolean(true);
      async.generate(GenerateRequest.newBuilder().setPrompt("a long story " + i)
          .setSampling(SamplingParams.newBuilder().setMaxTokens(480).setTemperature(0f)).build(),
          TestMesh.observer(c -> {
            if (first.compareAndSet(true, false)) {
              started.countDown();
            }
          }, done));
    }
    assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
    operator().loadModel(load(v2, "v2").toBuilder().setDrainTimeoutMs(1).build());
    List<Status> ends = new ArrayList<>();
    for (CompletableFuture<Status> o : outcomes) {
      ends.add(o.get(60, TimeUnit.SECONDS));
    }
    assertThat(ends).filteredOn(st -> !st.isOk()).isNotEmpty().allSatisfy(st -> {
      assertThat(st.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(st.getDescription()).contains("was unloaded after its drain timeout (1 ms)");
    });
    await().atMost(Duration.ofSeconds(30)).until(() -> node.host().draining().isEmpty());
  }

  @Test
  void drainThenUndrain_healthReadyzAndNewCallsFollow() throws Exception {
    AdminGrpc.AdminBlockingStub op = operator();
    ManagedChannel edge = channel(Role.EDGE);
    DrainResponse drained = op.drain(DrainRequest.getDefaultInstance());
    assertThat(drained.getDrained()).isTrue();
    assertThat(drained.getReady()).isFalse();
    assertThat(TestMesh.health(edge, InferenceGrpc.SERVICE_NAME)).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(TestMesh.health(edge, "")).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(readyz()).isEqualTo(503);
    GenerateRequest hi = GenerateRequest.newBuilder().setPrompt("hi")
        .setSampling(SamplingParams.newBuilder().setMaxTokens(2)).build();
    assertThatThrownBy(() -> InferenceGrpc.newBlockingStub(edge).generate(hi).forEachRemaining(c -> {}))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(e.getStatus().getDescription()).contains("drained");
        });
    assertThat(op.listModels(ListModelVersionsRequest.getDefaultInstance()).getDrained()).isTrue();
    DrainResponse back = op.undrain(UndrainRequest.getDefaultInstance());
    assertThat(back.getDrained()).isFalse();
    assertThat(back.getReady()).isTrue();
    assertThat(TestMesh.health(edge, InferenceGrpc.SERVICE_NAME)).isEqualTo(ServingStatus.SERVING);
    assertThat(readyz()).isEqualTo(200);
    InferenceGrpc.newBlockingStub(edge).generate(hi).forEachRemaining(c -> {});
  }

  private int readyz() throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + node.metricsPort() + "/readyz")).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }
}
