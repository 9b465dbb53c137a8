package io.infermesh.core.admin;

import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.infermesh.api.v1.AdminGrpc;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.LoadModelRequest;
import io.infermesh.api.v1.RollbackRequest;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.server.CoreNode;
import io.infermesh.models.ModelDigests;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tiny.VocabularyKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Request latency of a core node before, during and after a model swap and a rollback: 4 clients
 * send greedy 24-token requests back to back to the tiny core F32 model (PyTorch, CPU) while an
 * operator swaps to a second version and rolls back through the Admin service. "During" is every
 * request that overlapped a swap call (load beside the serving version, switch, drain). Prints
 * p50/p99 per phase and the failed-request count. Not part of {@code verify} (the name does not
 * end in Test). Run: {@code ./mvnw -o -pl core-cluster -am test -Dtest=SwapLatencyBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false}; lines start with SWAP.
 */
class SwapLatencyBenchmark {
  private static final int CLIENTS = 4;
  private static final int MAX_TOKENS = 24;
  private static final int PER_PHASE = 60;

  @Test
  void latencyBeforeDuringAndAfterSwap() throws Exception {
    try (TestMesh mesh = new TestMesh("swap-bench")) {
      CoreConfig config = mesh.tinyCore(CoreConfig.Scheduling.builder()
          .maxQueued(64).maxBatchSize(8).maxBatchTokens(256).prefillChunk(64).contextLength(512).build());
      try (CoreNode node = CoreNode.start(config)) {
        node.loadConfiguredModel();
        Path v2 = TinyModels.write(new TinyModelSpec("core-two", VocabularyKind.BPE, 128, 4, 8, 2, 384, 1024,
            GgmlType.F32, 42L), config.model().path().getParent());
        ManagedChannel edge = mesh.channel(Role.EDGE, "bench-edge", node.port());
        AdminGrpc.AdminBlockingStub op = AdminGrpc.newBlockingStub(mesh.channel(Role.OPERATOR, "bench-op",
            node.port()));
        LoadModelRequest swap = LoadModelRequest.newBuilder().setPath(v2.toString()).setVersion("v2")
            .putSha256(v2.getFileName().toString(), ModelDigests.sha256(v2)).build();
        List<SwapTraffic.Answer> answers;
        long[] swapCall = new long[2];
        long[] rollbackCall = new long[2];
        try (SwapTraffic traffic = new SwapTraffic(InferenceGrpc.newBlockingStub(edge), CLIENTS, MAX_TOKENS)) {
          await().atMost(Duration.ofMinutes(2)).until(() -> traffic.answers().size() >= 2 * PER_PHASE);
          swapCall[0] = System.nanoTime();
          op.loadModel(swap);
          swapCall[1] = System.nanoTime();
          await().atMost(Duration.ofMinutes(2)).until(() -> traffic.startedWhen(t -> t > swapCall[1]).size() >= PER_PHASE);
          await().atMost(Duration.ofMinutes(2)).until(() -> node.host().draining().isEmpty());
          rollbackCall[0] = System.nanoTime();
          op.rollback(RollbackRequest.getDefaultInstance());
          rollbackCall[1] = System.nanoTime();
          await().atMost(Duration.ofMinutes(2)).until(() ->
              traffic.startedWhen(t -> t > rollbackCall[1]).size() >= PER_PHASE);
          answers = traffic.answers();
        }
        List<SwapTraffic.Answer> warm = answers.subList(PER_PHASE, answers.size()); // drop the first (warm-up)
        report("before", warm.stream().filter(a -> a.endNanos() < swapCall[0]).toList());
        report("during swap", warm.stream().filter(a -> overlaps(a, swapCall)).toList());
        report("between", warm.stream().filter(a -> a.startNanos() > swapCall[1] && a.endNanos() < rollbackCall[0])
            .toList());
        report("during rollback", warm.stream().filter(a -> overlaps(a, rollbackCall)).toList());
        report("after", warm.stream().filter(a -> a.startNanos() > rollbackCall[1]).toList());
        System.out.printf("SWAP swap call %.0f ms, rollback call %.0f ms (reloaded: the old version had drained);"
            + " failed requests %d of %d%n", (swapCall[1] - swapCall[0]) / 1e6, (rollbackCall[1] - rollbackCall[0]) / 1e6,
            answers.stream().filter(a -> !a.ok()).count(), answers.size());
      }
    }
  }

  private static boolean overlaps(SwapTraffic.Answer a, long[] call) {
    return a.startNanos() < call[1] && a.endNanos() > call[0];
  }

  private static void report(String phase, List<SwapTraffic.Answer> of) {
    System.out.printf("SWAP %-16s requests %4d  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms%n", phase, of.size(),
        SwapTraffic.percentile(of, 50), SwapTraffic.percentile(of, 99), SwapTraffic.percentile(of, 100));
  }
}
