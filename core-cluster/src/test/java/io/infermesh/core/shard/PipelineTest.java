package io.infermesh.core.shard;

import static io.infermesh.core.shard.PipelineFixture.blocking;
import static io.infermesh.core.shard.PipelineFixture.greedy;
import static io.infermesh.core.shard.PipelineFixture.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.ShardGrpc;
import io.infermesh.api.v1.StageHello;
import io.infermesh.api.v1.StageReply;
import io.infermesh.api.v1.StageRequest;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.server.CoreNode;
import io.infermesh.core.server.StageNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tiny core model split over 2 and 3 stages, each stage its own mTLS server on loopback: the
 * pipelines generate exactly what the unsplit engine generates, alone and with several requests
 * (micro-batches) in flight, and the {@code Shard} service admits only core nodes that hold the
 * same model at the right place.
 */
class PipelineTest {
  private static final String[] PROMPTS = {
      "Once upon a time", "The market was busy", "A robot said hello", "In the morning the sun",
      "She opened the door and", "Numbers like 42 and 7"};

  private static PipelineFixture fx;
  private static CoreNode two;
  private static CoreNode three;
  private static ManagedChannel edgeToTwo;
  private static ManagedChannel edgeToThree;

  @BeforeAll
  static void start() throws Exception {
    fx = new PipelineFixture("pipeline");
    two = fx.pipeline("p2", 2);
    three = fx.pipeline("p3", 3);
    edgeToTwo = fx.channel(Role.EDGE, "edge-a", two.port());
    edgeToThree = fx.channel(Role.EDGE, "edge-b", three.port());
    await().atMost(Duration.ofSeconds(20)).until(() ->
        fx.health(edgeToTwo, InferenceGrpc.SERVICE_NAME) == ServingStatus.SERVING
            && fx.health(edgeToThree, InferenceGrpc.SERVICE_NAME) == ServingStatus.SERVING);
  }

  @AfterAll
  static void stop() throws Exception {
    fx.close();
  }

  @Test
  void generate_twoStages_generatesWhatTheUnsplitEngineGenerates() {
    for (String prompt : new String[] {PROMPTS[0], PROMPTS[1]}) {
      assertThat(tokens(blocking(edgeToTwo).generate(greedy("two-" + prompt.hashCode(), prompt, 40))))
          .as(prompt).isNotEmpty().isEqualTo(fx.unsplit(prompt, 40, null));
    }
  }

  @Test
  void generate_threeStages_generatesWhatTheUnsplitEngineGenerates() {
    for (String prompt : new String[] {PROMPTS[2], PROMPTS[3]}) {
      assertThat(tokens(blocking(edgeToThree).generate(greedy("three-" + prompt.hashCode(), prompt, 40))))
          .as(prompt).isNotEmpty().isEqualTo(fx.unsplit(prompt, 40, null));
    }
  }

  @Test
  void generate_seededSamplingOnThreeStages_drawsWhatTheUnsplitEngineDraws() {
    GenerateRequest r = greedy("seeded", PROMPTS[4], 30).toBuilder()
        .setSampling(SamplingParams.newBuilder().setMaxTokens(30).setTemperature(0.9f).setTopK(40).setTopP(0.95f)
            .setSeed(1234)).build();
    List<Integer> expected = fx.unsplit(PROMPTS[4], 30, new io.infermesh.core.engine.SamplingParams(0.9f, 40, 0.95f, 1234));
    assertThat(tokens(blocking(edgeToThree).generate(r))).isEqualTo(expected);
  }

  @Test
  void generate_seededChoicesOnThreeStages_choiceIDrawsWhatTheUnsplitEngineDrawsWithSeedPlusI() {
    String prompt = "Once upon a time there was a fox who lived in the forest and read books about the sea";
    GenerateRequest r = greedy("choices", prompt, 20).toBuilder().setN(3)
        .setSampling(SamplingParams.newBuilder().setMaxTokens(20).setTemperature(0.9f).setTopK(40).setTopP(0.95f)
            .setSeed(1234))
        .build();
    List<GenerateChunk> chunks = new ArrayList<>();
    blocking(edgeToThree).generate(r).forEachRemaining(chunks::add);
    for (int i = 0; i < 3; i++) {
      int choice = i;
      assertThat(chunks.stream().filter(c -> c.getIndex() == choice).flatMap(c -> c.getTokenIdsList().stream()))
          .as("choice %d", i).containsExactlyElementsOf(fx.unsplit(prompt, 20,
              new io.infermesh.core.engine.SamplingParams(0.9f, 40, 0.95f, 1234 + i)));
    }
    assertThat(three.host().current().orElseThrow().loop().stats().kvBlocksUsed()).isZero();
  }

  @Test
  void generate_concurrentRequestsOnThreeStages_microBatchesInFlightAndEachMatchesTheUnsplitEngine()
      throws Exception {
    InferenceGrpc.InferenceStub async = InferenceGrpc.newStub(edgeToThree).withDeadlineAfter(60, TimeUnit.SECONDS);
    List<CompletableFuture<List<Integer>>> results = new ArrayList<>();
    for (int i = 0; i < PROMPTS.length; i++) {
      CompletableFuture<List<Integer>> done = new CompletableFuture<>();
      results.add(done);
      List<Integer> got = new ArrayList<>();
      CompletableFuture<Status> outcome = new CompletableFuture<>();
      async.generate(greedy("concurrent-" + i, PROMPTS[i], 48),
          TestMesh.observer((io.infermesh.api.v1.GenerateChunk c) -> got.addAll(c.getTokenIdsList()), outcome));
      outcome.thenAccept(s -> {
        if (s.isOk()) {
          done.complete(got);
        } else {
          done.completeExceptionally(s.asRuntimeException());
        }
      });
    }
    for (int i = 0; i < PROMPTS.length; i++) {
      assertThat(results.get(i).get(60, TimeUnit.SECONDS)).as(PROMPTS[i]).isEqualTo(fx.unsplit(PROMPTS[i], 48, null));
    }
    PipelineRunner runner = (PipelineRunner) three.host().current().orElseThrow().runner();
    assertThat(runner.maxInFlight()).isEqualTo(3);
    assertThat(runner.mostInFlight()).as("micro-batches in flight at once").isGreaterThan(1);
    assertThat(three.host().current().orElseThrow().loop().stats().kvBlocksUsed()).isZero();
  }

  @Test
  void shard_gatewayCaller_permissionDenied() throws Exception {
    StageNode stage1 = firstLaterStage();
    ManagedChannel gateway = fx.channel(Role.GATEWAY, "gateway-1", stage1.port());
    assertThat(openShard(gateway, hello(0, 3)).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
  }

  @Test
  void shard_helloThatDoesNotFit_failedPreconditionNamingTheMismatch() throws Exception {
    StageNode stage1 = firstLaterStage();
    ManagedChannel core = fx.channel(Role.CORE, "intruder", stage1.port());
    Status wrongStage = openShard(core, hello(1, 3));
    assertThat(wrongStage.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(wrongStage.getDescription()).contains("only stage 0 may call it");
    Status wrongModel = openShard(core, hello(0, 3).toBuilder().setModelSha256("ab".repeat(32)).build());
    assertThat(wrongModel.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(wrongModel.getDescription()).contains("sha256");
  }

  @Test
  void shard_messageThatDoesNotParse_invalidArgumentAndTheStageStillServes() throws Exception {
    ManagedChannel core = fx.channel(Role.CORE, "garbler", firstLaterStage().port());
    for (byte[] garbage : new byte[][] {TestMesh.GARBAGE, TestMesh.INVALID_UTF8}) {
      Status s = TestMesh.raw(core, ShardGrpc.getForwardMethod().getFullMethodName(),
          io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING, garbage);
      assertThat(s.getCode()).as(s.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(s.getDescription()).contains("StageRequest");
    }
    assertThat(openShard(core, hello(0, 3)).getCode()).isEqualTo(Status.Code.OK);
  }

  @Test
  void health_laterStages_serveShardOnceLoaded() throws Exception {
    ManagedChannel ch = fx.channel(Role.CORE, "prober", firstLaterStage().port());
    assertThat(fx.health(ch, ShardGrpc.SERVICE_NAME)).isEqualTo(ServingStatus.SERVING);
  }

  private static StageNode firstLaterStage() {
    return fx.stageNodes("p3").get(0);
  }

  private static StageHello hello(int callerStage, int stages) throws Exception {
    return StageHello.newBuilder().setModel("tiny-core")
        .setModelSha256(io.infermesh.core.lifecycle.ModelFiles.sha256(fx.model))
        .setStageIndex(callerStage).setStageCount(stages).setHiddenSize(128).setKvSlots(16).build();
  }

  /** Opens a Shard stream, says {@code hello} and returns how the stream ended (OK if it answered ready). */
  private static Status openShard(ManagedChannel ch, StageHello hello) throws Exception {
    CompletableFuture<Status> outcome = new CompletableFuture<>();
    StreamObserver<StageRequest> requests = ShardGrpc.newStub(ch)
        .forward(TestMesh.observer((StageReply reply) -> outcome.complete(Status.OK), outcome));
    requests.onNext(StageRequest.newBuilder().setHello(hello).build());
    Status s = outcome.get(10, TimeUnit.SECONDS);
    if (s.isOk()) {
      requests.onCompleted();
    }
    return s;
  }

  @Test
  void generate_unknownModel_notFoundOnStageZero() {
    assertThatThrownBy(() -> tokens(blocking(edgeToTwo).generate(greedy("x", "hi", 2).toBuilder().setModel("nope").build())))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }
}
