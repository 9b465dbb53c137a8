package io.infermesh.core.bench;

import ai.djl.Device;
import io.infermesh.core.engine.DjlRuntime;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.GgufCheckpoint;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.SamplingParams;
import io.infermesh.core.engine.TestModels;
import io.infermesh.core.lifecycle.ModelRunner;
import io.infermesh.core.schedule.BatchLoop;
import io.infermesh.core.schedule.FinishReason;
import io.infermesh.core.schedule.GenerationListener;
import io.infermesh.core.schedule.GenerationRequest;
import io.infermesh.core.schedule.Priority;
import io.infermesh.core.schedule.Scheduler;
import io.infermesh.core.schedule.SchedulerConfig;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A 128-token greedy answer on the tiny core F32 model (PyTorch, 1 intra-op thread, CPU) through
 * the batch loop, with and without a draft verified in the prefill pass: no draft; the core's own
 * answer (the same weights on both tiers); the tiny edge model's answer (other weights, same
 * vocabulary); the own answer changed at token 32 (divergence); unrelated tokens (acceptance about
 * 0: the worst case, every draft position scored and thrown away). Per mode: engine steps, draft
 * tokens accepted, median latency over interleaved rounds (each starting with the next mode) and the process CPU time (the fair
 * figure on a shared machine), each against no draft. Every
 * mode's answer is checked equal to the no-draft answer. Not part of {@code verify} (the name does
 * not end in Test). Run: {@code ./mvnw -o -pl core-cluster -am test -Dtest=DraftBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false}; lines start with DRAFT.
 */
class DraftBenchmark {
  private static final int PROMPT = 64;
  private static final int MAX_TOKENS = 128;
  private static final int ROUNDS = 15;
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final SchedulerConfig SCHEDULING = new SchedulerConfig(16, 8, 512, 128, 64, 16, 1024,
      Duration.ofSeconds(10), Duration.ofSeconds(1));

  private enum Mode { NO_DRAFT, SAME_WEIGHTS, OTHER_MODEL, DIVERGES_AT_32, UNRELATED }

  /** One answer's tokens, steps and draft acceptance. */
  private static final class Answer implements GenerationListener {
    final List<Integer> tokens = new ArrayList<>();
    final CountDownLatch done = new CountDownLatch(1);
    int accepted;

    @Override
    public void onToken(int choice, int token, int index) {
      tokens.add(token);
    }

    @Override
    public void onDraftVerified(int choice, int drafted, int acceptedTokens) {
      accepted = acceptedTokens;
    }

    @Override
    public void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens, boolean last) {
      done.countDown();
    }
  }

  @Test
  void latencyWithAndWithoutDraft() throws Exception {
    System.setProperty("ai.djl.offline", "true");
    DjlRuntime.threads(1);
    Path dir = Files.createTempDirectory("draft-bench");
    Path coreFile = TinyModels.write(TinyModelSpec.core(GgmlType.F32), dir);
    Path edgeFile = TinyModels.write(TinyModelSpec.edge(GgmlType.F32), dir);
    try (GgufCheckpoint cp = GgufCheckpoint.open(coreFile);
        GgufCheckpoint ecp = GgufCheckpoint.open(edgeFile);
        LlamaModel model = LlamaModel.load(cp.config(), LayerRange.all(cp.config().layers()), cp, Device.cpu(),
            SCHEDULING.kvBlocks() * SCHEDULING.kvBlockSize());
        LlamaModel edge = LlamaModel.load(ecp.config(), LayerRange.all(ecp.config().layers()), ecp, Device.cpu(),
            PROMPT + MAX_TOKENS + 1)) {
      int vocab = cp.config().vocabSize();
      int[] prompt = IntStream.range(0, PROMPT).map(i -> 1 + (7 * i + 3) % (vocab - 1)).toArray();
      model.forward(ForwardBatch.contiguous(Arrays.copyOf(prompt, 64), 0)); // warm-up
      List<Integer> own = TestModels.greedy(model, prompt, MAX_TOKENS);
      int[][] drafts = new int[Mode.values().length][];
      drafts[Mode.NO_DRAFT.ordinal()] = new int[0];
      drafts[Mode.SAME_WEIGHTS.ordinal()] = own.stream().mapToInt(Integer::intValue).toArray();
      drafts[Mode.OTHER_MODEL.ordinal()] = TestModels.greedy(edge, prompt, MAX_TOKENS).stream()
          .mapToInt(t -> t % vocab).toArray();
      int[] diverging = drafts[Mode.SAME_WEIGHTS.ordinal()].clone();
      diverging[32] = (diverging[32] + 1) % vocab;
      drafts[Mode.DIVERGES_AT_32.ordinal()] = diverging;
      drafts[Mode.UNRELATED.ordinal()] = IntStream.range(0, MAX_TOKENS).map(i -> 3 + (31 * i + 17) % (vocab - 3))
          .toArray();
      AtomicInteger steps = new AtomicInteger();
      BatchLoop loop = new BatchLoop(new Scheduler(SCHEDULING, System::nanoTime), new ModelRunner(model),
          r -> new Thread(r, "bench-loop"), (plan, nanos) -> steps.incrementAndGet()).start();
      try {
        int modes = Mode.values().length;
        long[][] nanos = new long[modes][ROUNDS];
        long[][] cpu = new long[modes][ROUNDS]; // process CPU time: the fair figure on a shared machine
        int[] stepCount = new int[modes];
        int[] accepted = new int[modes];
        for (int round = -1; round < ROUNDS; round++) { // round -1 warms up
          for (int k = 0; k < modes; k++) {
            Mode m = Mode.values()[(k + Math.max(0, round)) % modes]; // each round starts one mode later
            Answer a = new Answer();
            int before = steps.get();
            long start = System.nanoTime();
            long cpu0 = OS.getProcessCpuTime();
            loop.submit(new GenerationRequest(m + "-" + round, prompt, MAX_TOKENS, Priority.NORMAL,
                SamplingParams.GREEDY, Set.of(), Long.MAX_VALUE).withDraft(drafts[m.ordinal()]), a);
            if (!a.done.await(5, TimeUnit.MINUTES)) {
              throw new IllegalStateException("benchmark round did not finish");
            }
            long took = System.nanoTime() - start;
            long cpuTook = OS.getProcessCpuTime() - cpu0;
            if (!a.tokens.equals(own)) {
              throw new IllegalStateException(m + ": the answer differs from the core's own: " + a.tokens);
            }
            if (round >= 0) {
              nanos[m.ordinal()][round] = took;
              cpu[m.ordinal()][round] = cpuTook;
              stepCount[m.ordinal()] = steps.get() - before;
              accepted[m.ordinal()] = a.accepted;
            }
          }
        }
        double base = median(nanos[Mode.NO_DRAFT.ordinal()]);
        double baseCpu = median(cpu[Mode.NO_DRAFT.ordinal()]);
        System.out.printf("DRAFT tiny core F32 (%d layers, dim %d, vocab %d), prompt %d tokens, %d-token greedy answer,"
            + " %d interleaved rounds, 1 PyTorch thread, CPU%n", cp.config().layers(), cp.config().dim(), vocab, PROMPT,
            MAX_TOKENS, ROUNDS);
        System.out.printf("DRAFT %-15s %6s %9s %10s %11s %9s %9s %12s %9s%n", "mode", "steps", "accepted",
            "acceptance", "median ms", "min ms", "vs none", "CPU med ms", "vs none");
        for (Mode m : Mode.values()) {
          int drafted = drafts[m.ordinal()].length;
          double median = median(nanos[m.ordinal()]);
          double medianCpu = median(cpu[m.ordinal()]);
          System.out.printf("DRAFT %-15s %6d %4d/%-4d %9.1f%% %11.1f %9.1f %8.3fx %12.1f %8.3fx%n",
              m.name().toLowerCase(), stepCount[m.ordinal()], accepted[m.ordinal()], drafted,
              drafted == 0 ? 0 : 100.0 * accepted[m.ordinal()] / drafted, median / 1e6,
              Arrays.stream(nanos[m.ordinal()]).min().orElseThrow() / 1e6, median / base, medianCpu / 1e6,
              medianCpu / baseCpu);
        }
      } finally {
        loop.close();
      }
    }
  }

  private static double median(long[] values) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
  }
}
