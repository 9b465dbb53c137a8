package io.infermesh.core.bench;

import ai.djl.Device;
import io.infermesh.core.engine.DjlRuntime;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.GgufCheckpoint;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.SamplingParams;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Time to all choices of one {@code n = 4} request with a 512-token prompt on the tiny core F32
 * model (PyTorch, 1 intra-op thread, CPU), through the batch loop: one request whose choices share
 * one prefill, against the same four choices as separate requests one after another (what the
 * edge did before: one call per choice) and as four concurrent separate requests (batched, each
 * with its own prefill). Rounds interleave the three; each figure is the median of the rounds,
 * with the tokens the engine computed and the process CPU time (the fair figure on a shared machine). Not part of {@code verify} (the name does not end in
 * Test). Run: {@code ./mvnw -o -pl core-cluster test -Dtest=ChoicesBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false}; lines start with CHOICES.
 */
class ChoicesBenchmark {
  private static final int PROMPT = 512;
  private static final int N = 4;
  private static final int MAX_TOKENS = 32;
  private static final int ROUNDS = 7;
  private static final SchedulerConfig SCHEDULING = new SchedulerConfig(256, 64, 512, 128, 256, 16, 1024,
      Duration.ofSeconds(10), Duration.ofSeconds(1));

  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  private enum Mode { SHARED_PREFILL, SEQUENTIAL_REQUESTS, CONCURRENT_REQUESTS }

  @Test
  void timeToAllChoices() throws Exception {
    System.setProperty("ai.djl.offline", "true");
    DjlRuntime.threads(1);
    Path file = TinyModels.write(TinyModelSpec.core(GgmlType.F32), Files.createTempDirectory("choices-bench"));
    try (GgufCheckpoint cp = GgufCheckpoint.open(file);
        LlamaModel model = LlamaModel.load(cp.config(), LayerRange.all(cp.config().layers()), cp, Device.cpu(),
            SCHEDULING.kvBlocks() * SCHEDULING.kvBlockSize())) {
      int vocab = cp.config().vocabSize();
      int[] prompt = IntStream.range(0, PROMPT).map(i -> 1 + (7 * i + 3) % (vocab - 1)).toArray();
      model.forward(ForwardBatch.contiguous(Arrays.copyOf(prompt, 64), 0)); // warm-up
      BatchLoop loop = new BatchLoop(new Scheduler(SCHEDULING, System::nanoTime), new ModelRunner(model),
          r -> new Thread(r, "bench-loop"), (plan, nanos) -> COMPUTED.addAndGet(plan.tokenCount())).start();
      try {
        for (Mode m : Mode.values()) {
          run(loop, m, prompt, -1); // warm-up round
        }
        long[][] nanos = new long[Mode.values().length][ROUNDS];
        long[][] cpu = new long[Mode.values().length][ROUNDS]; // process CPU time: fair on a shared machine
        long[] tokens = new long[Mode.values().length];
        for (int round = 0; round < ROUNDS; round++) {
          for (Mode m : Mode.values()) {
            long before = COMPUTED.get();
            long cpu0 = OS.getProcessCpuTime();
            nanos[m.ordinal()][round] = run(loop, m, prompt, round);
            cpu[m.ordinal()][round] = OS.getProcessCpuTime() - cpu0;
            tokens[m.ordinal()] = COMPUTED.get() - before;
          }
        }
        double shared = median(nanos[Mode.SHARED_PREFILL.ordinal()]);
        double sharedCpu = median(cpu[Mode.SHARED_PREFILL.ordinal()]);
        System.out.printf("CHOICES tiny core F32 (%d layers, dim %d), prompt %d tokens, n=%d, max_tokens %d, %d rounds,"
            + " 1 PyTorch thread%n", cp.config().layers(), cp.config().dim(), PROMPT, N, MAX_TOKENS, ROUNDS);
        for (Mode m : Mode.values()) {
          double median = median(nanos[m.ordinal()]);
          System.out.printf("CHOICES %-20s time to all choices: median %7.1f ms (min %7.1f, max %7.1f); %5d tokens"
              + " computed; %.2fx shared; CPU median %7.1f ms (%.2fx shared)%n", m.name().toLowerCase(), median / 1e6,
              Arrays.stream(nanos[m.ordinal()]).min().orElseThrow() / 1e6,
              Arrays.stream(nanos[m.ordinal()]).max().orElseThrow() / 1e6, tokens[m.ordinal()], median / shared,
              median(cpu[m.ordinal()]) / 1e6, median(cpu[m.ordinal()]) / sharedCpu);
        }
      } finally {
        loop.close();
      }
    }
  }

  private static final AtomicLong COMPUTED = new AtomicLong();

  /** One round of {@code mode}; returns the nanoseconds from the first submit to the last choice's end. */
  private static long run(BatchLoop loop, Mode mode, int[] prompt, int round) throws Exception {
    long seed = 1000L * (round + 2);
    long start = System.nanoTime();
    switch (mode) {
      case SHARED_PREFILL -> await(List.of(submit(loop, "shared" + round, prompt, seed, N)));
      case SEQUENTIAL_REQUESTS -> {
        for (int i = 0; i < N; i++) {
          await(List.of(submit(loop, "seq" + round + "-" + i, prompt, seed + i, 1)));
        }
      }
      case CONCURRENT_REQUESTS -> {
        List<CountDownLatch> all = new ArrayList<>();
        for (int i = 0; i < N; i++) {
          all.add(submit(loop, "con" + round + "-" + i, prompt, seed + i, 1));
        }
        await(all);
      }
      default -> throw new IllegalStateException(mode.name());
    }
    return System.nanoTime() - start;
  }

  private static CountDownLatch submit(BatchLoop loop, String id, int[] prompt, long seed, int choices) {
    CountDownLatch done = new CountDownLatch(1);
    loop.submit(new GenerationRequest(id, prompt, MAX_TOKENS, Priority.NORMAL, new SamplingParams(1f, 0, 1f, seed),
        Set.of(), Long.MAX_VALUE, choices), new GenerationListener() {
          @Override
          public void onToken(int choice, int token, int index) {}

          @Override
          public void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens, boolean last) {
            if (last) {
              done.countDown();
            }
          }
        });
    return done;
  }

  private static void await(List<CountDownLatch> latches) throws InterruptedException {
    for (CountDownLatch l : latches) {
      if (!l.await(5, TimeUnit.MINUTES)) {
        throw new IllegalStateException("benchmark round did not finish");
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
