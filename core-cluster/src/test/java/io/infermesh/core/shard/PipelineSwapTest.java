package io.infermesh.core.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.AdminGrpc;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.ListModelVersionsRequest;
import io.infermesh.api.v1.LoadModelRequest;
import io.infermesh.api.v1.LoadModelResponse;
import io.infermesh.api.v1.ModelState;
import io.infermesh.api.v1.ModelVersion;
import io.infermesh.api.v1.PipelineSwapGrpc;
import io.infermesh.api.v1.StagePrepareRequest;
import io.infermesh.certs.Role;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.server.CoreNode;
import io.infermesh.core.server.StageNode;
import io.infermesh.models.ModelDigests;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tiny.VocabularyKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real two-stage pipeline whose stages keep their models in different directories (as on two
 * machines), swapped through stage 0's Admin service: every stage moves to the new version, or,
 * when one stage cannot load it (its copy is corrupt), none does.
 */
class PipelineSwapTest {
  private static final AtomicInteger IDS = new AtomicInteger();
  private static PipelineFixture fixture;
  private static StageNode second;
  private static CoreNode first;
  private static Path stage0Dir;
  private static Path stage1Dir;

  @BeforeAll
  static void start() throws Exception {
    fixture = new PipelineFixture("pipeline-swap");
    Path root = fixture.mesh.root();
    stage0Dir = Files.createDirectories(root.resolve("stage-0-models"));
    stage1Dir = Files.createDirectories(root.resolve("stage-1-models"));
    Path newVersion = TinyModels.write(new TinyModelSpec("core-two", VocabularyKind.BPE, 128, 4, 8, 2, 384, 1024,
        GgmlType.F32, 42L), root.resolve("new"));
    for (Path dir : List.of(stage0Dir, stage1Dir)) {
      Files.copy(fixture.model, dir.resolve("v1.gguf"));
      Files.copy(newVersion, dir.resolve("v2.gguf"));
    }
    Files.copy(newVersion, stage0Dir.resolve("v3.gguf"));
    Files.copy(fixture.model, stage1Dir.resolve("v3.gguf")); // stage 1's copy of v3 is not v3
    second = StageNode.start(config("swap-1", stage1Dir, 1, ""));
    second.loadConfiguredModel();
    first = CoreNode.start(config("swap-0", stage0Dir, 0, "localhost:" + second.port()));
    first.loadConfiguredModel();
    await().atMost(Duration.ofSeconds(30)).until(() -> first.host().current().orElseThrow().loop().available());
  }

  private static CoreConfig config(String name, Path dir, int stage, String next) throws Exception {
    fixture.mesh.issue(Role.CORE, name);
    return CoreConfig.builder(new CoreConfig.Node(name, "test-1"),
            new CoreConfig.Tls(fixture.mesh.root().resolve(name), name))
        .grpcPort(0)
        .model(CoreConfig.Model.builder("tiny-core").path(dir.resolve("v1.gguf")).device("cpu").defaultMaxTokens(16)
            .build())
        .scheduler(CoreConfig.Scheduling.builder().maxQueued(16).maxBatchSize(8).maxBatchTokens(256).prefillChunk(64)
            .build())
        .stage(new CoreConfig.Stage(stage, 2, next))
        .metricsPort(-1)
        .build();
  }

  @AfterAll
  static void stop() throws Exception {
    first.close();
    second.close();
    fixture.close();
  }

  private static AdminGrpc.AdminBlockingStub admin(int port) throws Exception {
    return AdminGrpc.newBlockingStub(fixture.channel(Role.OPERATOR, "operator-" + IDS.incrementAndGet(), port));
  }

  private static String generatedBy() throws Exception {
    List<GenerateChunk> chunks = new ArrayList<>();
    PipelineFixture.blocking(fixture.channel(Role.EDGE, "edge-" + IDS.incrementAndGet(), first.port()))
        .generate(PipelineFixture.greedy("swap-" + IDS.incrementAndGet(), "Once upon a time", 4))
        .forEachRemaining(chunks::add);
    return chunks.get(chunks.size() - 1).getServedBy().getModelVersion();
  }

  private static LoadModelRequest load(String file, Path digestOf, String version) throws Exception {
    return LoadModelRequest.newBuilder().setPath(file).putSha256(file, ModelDigests.sha256(digestOf))
        .setVersion(version).build();
  }

  @Test
  void pipelineSwap_oneStageCannotLoadIt_everyStageKeepsTheOldVersion() throws Exception {
    await().atMost(Duration.ofSeconds(30)).until(() -> first.host().draining().isEmpty());
    String before = first.host().current().orElseThrow().version();
    List<ModelVersion> stage1Before = admin(second.port()).listModels(ListModelVersionsRequest.getDefaultInstance())
        .getModelsList();
    AdminGrpc.AdminBlockingStub op = admin(first.port());
    LoadModelRequest v3 = load("v3.gguf", stage0Dir.resolve("v3.gguf"), "v3");
    assertThatThrownBy(() -> op.loadModel(v3)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(e.getStatus().getDescription()).contains("stage 1").contains(stage1Dir.resolve("v3.gguf").toString());
    });
    assertThat(first.host().current().orElseThrow().version()).isEqualTo(before);
    assertThat(first.host().draining()).isEmpty();
    assertThat(admin(second.port()).listModels(ListModelVersionsRequest.getDefaultInstance()).getModelsList())
        .isEqualTo(stage1Before);
    assertThat(generatedBy()).isEqualTo(before);
  }

  @Test
  void pipelineSwap_everyStageLoadsIt_answersComeFromTheNewVersionOnEveryStage() throws Exception {
    await().atMost(Duration.ofSeconds(30)).until(() -> first.host().draining().isEmpty());
    String before = first.host().current().orElseThrow().version();
    LoadModelResponse r = admin(first.port()).loadModel(load("v2.gguf", stage0Dir.resolve("v2.gguf"), "v2"));
    assertThat(r.getServing().getVersion()).isEqualTo("v2");
    assertThat(r.getReplaced().getVersion()).isEqualTo(before);
    assertThat(r.getStageIdsList()).containsExactly("spiffe://mesh.test/test-1/core/swap-1");
    assertThat(generatedBy()).isEqualTo("v2");
    AdminGrpc.AdminBlockingStub stage1 = admin(second.port());
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(stage1.listModels(ListModelVersionsRequest.getDefaultInstance()).getModelsList())
            .extracting(ModelVersion::getVersion, ModelVersion::getState)
            .containsExactly(org.assertj.core.groups.Tuple.tuple("v2", ModelState.MODEL_STATE_SERVING),
                org.assertj.core.groups.Tuple.tuple(before, ModelState.MODEL_STATE_PREVIOUS)));
    await().atMost(Duration.ofSeconds(30)).until(() -> first.host().draining().isEmpty());
  }

  @Test
  void laterStage_loadModelOrForeignRoles_refused() throws Exception {
    assertThatThrownBy(() -> admin(second.port()).loadModel(load("v2.gguf", stage1Dir.resolve("v2.gguf"), "v2")))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription()).contains("stage 0");
        });
    var edgeAdmin = AdminGrpc.newBlockingStub(fixture.channel(Role.EDGE, "edge-" + IDS.incrementAndGet(),
        second.port()));
    assertThatThrownBy(() -> edgeAdmin.listModels(ListModelVersionsRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
    var operatorSwap = PipelineSwapGrpc.newBlockingStub(fixture.channel(Role.OPERATOR, "operator-"
        + IDS.incrementAndGet(), second.port()));
    assertThatThrownBy(() -> operatorSwap.prepare(StagePrepareRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
  }
}
