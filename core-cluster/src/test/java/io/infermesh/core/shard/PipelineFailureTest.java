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
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ShardGrpc;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.server.CoreNode;
import io.infermesh.core.server.StageNode;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A three-stage pipeline losing its last stage in the middle of a generation, and getting it back. */
class PipelineFailureTest {
  private PipelineFixture fx;

  @BeforeEach
  void start() throws Exception {
    fx = new PipelineFixture("pipeline-failure");
  }

  @AfterEach
  void stop() throws Exception {
    fx.close();
  }

  @Test
  void generate_lastStageStoppedMidStream_nothingHangsAndNodesNotServingUntilItReturns() throws Exception {
    CoreNode first = fx.pipeline("pf", 3);
    StageNode middle = fx.stageNodes("pf").get(0);
    StageNode last = fx.stageNodes("pf").get(1);
    ManagedChannel edge = fx.channel(Role.EDGE, "edge-f", first.port());
    ManagedChannel probe = fx.channel(Role.CORE, "probe-f", middle.port());
    await().atMost(Duration.ofSeconds(20))
        .until(() -> fx.health(edge, InferenceGrpc.SERVICE_NAME) == ServingStatus.SERVING);

    CountDownLatch streaming = new CountDownLatch(1);
    CompletableFuture<Status> outcome = new CompletableFuture<>();
    InferenceGrpc.newStub(edge).withDeadlineAfter(60, TimeUnit.SECONDS)
        .generate(greedy("long", "Once upon a time", 1000), TestMesh.observer(c -> streaming.countDown(), outcome));
    assertThat(streaming.await(20, TimeUnit.SECONDS)).isTrue();
    int lastPort = last.port();
    last.close();

    // The stage shuts down with a grace period in which its streams go on: the request in flight
    // either finished within it (a tiny model decodes 1000 tokens in well under a second) or failed
    // UNAVAILABLE, the status a caller retries elsewhere; never anything else, never a hang.
    Status failed = outcome.get(20, TimeUnit.SECONDS);
    assertThat(failed.getCode()).isIn(Status.Code.OK, Status.Code.UNAVAILABLE);
    await().atMost(Duration.ofSeconds(10))
        .until(() -> fx.health(edge, InferenceGrpc.SERVICE_NAME) == ServingStatus.NOT_SERVING);
    await().atMost(Duration.ofSeconds(10))
        .until(() -> fx.health(probe, ShardGrpc.SERVICE_NAME) == ServingStatus.NOT_SERVING);
    assertThat(first.host().current().orElseThrow().loop().stats().kvBlocksUsed()).isZero();
    assertThatThrownBy(() -> tokens(blocking(edge).generate(greedy("while-down", "hello", 4))))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));

    // the stage comes back on its address: stage 0 reconnects and serves again
    fx.stage("pf", 2, 3, "", lastPort);
    await().atMost(Duration.ofSeconds(30))
        .until(() -> fx.health(edge, InferenceGrpc.SERVICE_NAME) == ServingStatus.SERVING);
    assertThat(fx.health(probe, ShardGrpc.SERVICE_NAME)).isEqualTo(ServingStatus.SERVING);
    assertThat(tokens(blocking(edge).generate(greedy("after", "The market was busy", 24))))
        .isEqualTo(fx.unsplit("The market was busy", 24, null));
  }
}
