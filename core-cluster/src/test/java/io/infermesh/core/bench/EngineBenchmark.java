package io.infermesh.core.bench;

import ai.djl.Device;
import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
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
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Throughput of the engine (not a unit test; run its main). Arguments: engine threads ({@code engine.threads})
 * (default 1), then the model: {@code tiny} (default) or {@code 200m}; after {@code 200m},
 * {@code fresh-load} loads the model on a thread that ends (default: on the main thread, which stays
 * alive, as the core's {@code main} does).
 *
 * <p>{@code tiny}, the tiny core F32 model: the cost of one decode step at batch 1, aggregate
 * generated tokens/s at concurrency 1, 4, 16, 64 through the batch loop, and llama.cpp single
 * stream (1 thread) on the same file. Each figure is the best of 3 runs, in wall-clock time and in
 * process CPU time (tokens per CPU-second): on a shared machine the second is the fair comparison.
 *
 * <p>{@code 200m}, a ~200M-parameter Llama shape with random F32 weights ({@link LargeShape}): the
 * native calls per decode step and where the step's time goes (PyTorch's profiler), the step time
 * at 1 and 16 sequences, and aggregate tokens/s at 1, 8 and 16 streams through the batch loop, as
 * medians with the load average beside them.
 *
 * <pre>
 * java -cp "$(cat cp.txt):core-cluster/target/classes:core-cluster/target/test-classes" \
 *     io.infermesh.core.bench.EngineBenchmark 2 200m [fresh-load]
 * </pre>
 * <p>With a second argument, a comma-separated list of weight precisions ({@code engine.dtype}
 * names, e.g. {@code float32,float16}), it compares them instead on a ~200M-parameter Llama shape
 * (third argument {@code 200m}, the default) or the tiny core shape ({@code tiny}): every
 * precision's model is loaded once, then rounds run prefill, 1-stream and 16-stream decode for
 * each precision in turn (interleaved, so load on the machine hits them alike), and the medians
 * (wall clock, and process CPU time) are printed with their ratio to the first precision, beside
 * the greedy agreement and the largest logit difference against it.
 */
public final class EngineBenchmark {
  private static final int RUNS = 3;
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  private interface Run {
    long run() throws Exception; // returns the work done (steps or tokens)
  }

  /** {work per wall second, work per CPU second}, each the best of the runs. */
  private static double[] best(Run r) throws Exception {
    double wall = Double.MAX_VALUE;
    double cpu = Double.MAX_VALUE;
    long work = 0;
    for (int i = 0; i < RUNS; i++) {
      long w0 = System.nanoTime();
      long c0 = OS.getProcessCpuTime();
      work = r.run();
      wall = Math.min(wall, (System.nanoTime() - w0) / 1e9);
      cpu = Math.min(cpu, (OS.getProcessCpuTime() - c0) / 1e9);
    }
    return new double[] {work / wall, work / cpu};
  }

  public static void main(String[] args) throws Exception {
    System.setProperty("ai.djl.offline", "true");
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
    DjlRuntime.threads(threads);
    if (args.length > 1 && args[1].equals("200m")) {
      LargeShape.run(threads, args.length > 2 && args[2].equals("fresh-load"));
      System.exit(0);
    }
    if (args.length > 1) {
      PrecisionComparison.run(threads, args[1], args.length > 2 ? args[2] : "200m");
      System.exit(0);
    }
    int tokens = 64;
    Path file = TinyModels.write(TinyModelSpec.core(GgmlType.F32), Files.createTempDirectory("bench"));
    double single;
    try (GgufCheckpoint cp = GgufCheckpoint.open(file);
        LlamaModel model = LlamaModel.load(cp.config(), LayerRange.all(cp.config().layers()), cp, Device.cpu(), 64 * 256)) {
      model.forward(ForwardBatch.contiguous(new int[] {1, 2, 3, 4}, 0));
      for (int i = 0; i < 200; i++) {
        model.forward(ForwardBatch.contiguous(new int[] {5}, 4 + i));
      }
      int steps = 300;
      double[] perStep = best(() -> {
        for (int i = 0; i < steps; i++) {
          model.forward(ForwardBatch.contiguous(new int[] {5}, 54 + i % 100));
        }
        return steps;
      });
      System.out.printf("engine threads (engine.threads): %d%n", threads);
      System.out.printf("decode step, batch 1, %d layers: %.3f ms wall, %.3f ms CPU%n", cp.config().layers(),
          1e3 / perStep[0], 1e3 / perStep[1]);
      single = 0;
      double singleCpu = 0;
      for (int c : new int[] {1, 4, 16, 64}) {
        double[] tps = best(() -> aggregate(model, c, tokens));
        if (c == 1) {
          single = tps[0];
          singleCpu = tps[1];
        }
        System.out.printf("concurrency %2d: %8.1f tokens/s aggregate (%.2fx single), %8.1f tokens per CPU-second%n", c,
            tps[0], tps[0] / single, tps[1]);
      }
      double[] llama = llamaCpp(file, 512); // longer, so the process CPU clock (10 ms ticks) resolves it
      System.out.printf("llama.cpp single stream (1 thread): %.1f tokens/s, %.1f tokens per CPU-second%n", llama[0],
          llama[1]);
      System.out.printf("single stream ratio engine / llama.cpp: %.3f wall, %.3f CPU%n", single / llama[0],
          singleCpu / llama[1]);
    }
    System.exit(0);
  }

  private static double[] llamaCpp(Path file, int tokens) throws Exception {
    de.kherud.llama.LlamaModel.setLogger(null, (level, msg) -> {});
    try (de.kherud.llama.LlamaModel llama = new de.kherud.llama.LlamaModel(new ModelParameters()
        .setModel(file.toString()).setThreads(1).setThreadsBatch(1).setCtxSize(1024).setGpuLayers(0))) {
      InferenceParameters p = new InferenceParameters("Once upon a time").setNPredict(tokens).setTemperature(0f)
          .setIgnoreEos(true).setCachePrompt(false);
      for (LlamaOutput o : llama.generate(p)) {
        // warm-up
      }
      return best(() -> {
        long n = 0;
        for (LlamaOutput o : llama.generate(p)) {
          n++;
        }
        return n;
      });
    }
  }

  static long aggregate(LlamaModel model, int concurrency, int tokens) throws Exception {
    SchedulerConfig sc = new SchedulerConfig(256, 64, 512, 128, 256, 64, 1024, Duration.ofSeconds(10),
        Duration.ofSeconds(1));
    BatchLoop loop = new BatchLoop(new Scheduler(sc, System::nanoTime), new ModelRunner(model),
        r -> new Thread(r, "bench-loop"), BatchLoop.StepObserver.NONE).start();
    try {
      CountDownLatch done = new CountDownLatch(concurrency);
      AtomicLong generated = new AtomicLong();
      for (int i = 0; i < concurrency; i++) {
        loop.submit(new GenerationRequest("b" + i, new int[] {1, 10 + i, 20, 30, 40, 50, 60, 70}, tokens,
            Priority.NORMAL, SamplingParams.GREEDY, Set.of(), Long.MAX_VALUE), new GenerationListener() {
              @Override
              public void onToken(int choice, int token, int index) {
                generated.incrementAndGet();
              }

              @Override
              public void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens,
                  boolean last) {
                done.countDown();
              }
            });
      }
      if (!done.await(5, TimeUnit.MINUTES)) {
        throw new IllegalStateException("benchmark run did not finish");
      }
      return generated.get();
    } finally {
      loop.close();
    }
  }
}
