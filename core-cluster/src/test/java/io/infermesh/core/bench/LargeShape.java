package io.infermesh.core.bench;

import ai.djl.Device;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.TestModels;
import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * {@link EngineBenchmark} on a ~200M-parameter Llama shape (width 1024, 12 layers, 16 query / 4
 * key-value heads, FFN 2816, vocabulary 32,000, untied head: 199M parameters, 797 MB in F32) with
 * deterministic random weights.
 */
final class LargeShape {
  private static final int RUNS = 3;
  private static final int TOKENS = 64;
  private static final int SLOTS_PER_SEQUENCE = 1024;

  private LargeShape() {}

  static void run(int threads, boolean freshLoad) throws Exception {
    LlamaConfig c = TestModels.config(32_000, 1024, 2816, 12, 16, 4, 2048, false);
    long params = (long) c.vocabSize() * c.dim() * 2 + (long) c.layers() * ((long) c.dim() * (c.qDim() + 2L * c.kvDim())
        + (long) c.qDim() * c.dim() + 3L * c.dim() * c.ffnDim());
    // freshLoad: load on a thread that ends. Otherwise load on this thread, which stays alive, as the
    // core's main thread or an admin thread does (LlamaModel.load has its own loader thread for that).
    Phase<LlamaModel> load = () -> LlamaModel.load(c, LayerRange.all(c.layers()), TestModels.random(c, 42),
        Device.cpu(), 64 * 256);
    LlamaModel model = freshLoad ? onFreshThread(load) : load.run();
    try (model) {
      System.out.printf("model: %.0fM parameters F32, dim %d, %d layers, %d/%d heads, ffn %d, vocab %d;"
          + " engine threads %d; loaded on %s; load average %s%n", params / 1e6, c.dim(), c.layers(), c.heads(),
          c.kvHeads(), c.ffnDim(), c.vocabSize(), threads, freshLoad ? "a thread that ended" : "the main thread",
          load());
      onFreshThread(() -> { // not on main: its OpenMP team would stay beside the batch loop's
        steps(model);
        return null;
      });
      double single = 0;
      for (int streams : new int[] {1, 8, 16}) {
        double[] wall = new double[RUNS];
        double[] cpu = new double[RUNS];
        String loadBefore = load();
        for (int r = 0; r < RUNS; r++) {
          long w0 = System.nanoTime();
          long c0 = cpuNanos();
          long n = EngineBenchmark.aggregate(model, streams, TOKENS);
          wall[r] = n / ((System.nanoTime() - w0) / 1e9);
          cpu[r] = n / ((cpuNanos() - c0) / 1e9);
        }
        Arrays.sort(wall);
        Arrays.sort(cpu);
        double median = wall[RUNS / 2];
        single = streams == 1 ? median : single;
        System.out.printf("%2d stream(s), %d tokens each: median %6.1f tokens/s (min %.1f, max %.1f; %.2fx one"
            + " stream), %6.1f tokens per CPU-second; load average before %s%n", streams, TOKENS, median, wall[0],
            wall[RUNS - 1], median / single, cpu[RUNS / 2], loadBefore);
      }
    }
  }

  /** The native calls per decode step, where its time goes, and its median time, at 1 and 16 sequences. */
  private static void steps(LlamaModel model) throws Exception {
    model.forward(ForwardBatch.contiguous(new int[] {1, 2, 3, 4, 5, 6, 7, 8}, 0));
    for (int[] shape : new int[][] {{1, 64}, {16, 64}, {16, 960}}) {
      int streams = shape[0];
      int at = shape[1];
      for (int i = 0; i < 3; i++) {
        model.step(decode(streams, at + i), null); // warm-up (and the rows filled once)
      }
      String what = "decode step, " + streams + " sequence(s) at position ~" + at;
      NativeProfile.print(what, 4, steps -> {
        for (int i = 0; i < steps; i++) {
          model.step(decode(streams, at + i), null);
        }
      });
      double[] ms = new double[10];
      for (int i = 0; i < ms.length; i++) {
        long t0 = System.nanoTime();
        model.step(decode(streams, at + i), null);
        ms[i] = (System.nanoTime() - t0) / 1e6;
      }
      Arrays.sort(ms);
      System.out.printf("%s: median %.2f ms (min %.2f, max %.2f), %.1f tokens/s; load average %s%n", what,
          ms[ms.length / 2], ms[0], ms[ms.length - 1], streams * 1e3 / ms[ms.length / 2], load());
    }
  }

  private interface Phase<T> {
    T run() throws Exception;
  }

  private static <T> T onFreshThread(Phase<T> phase) throws Exception {
    Object[] result = new Object[1];
    Exception[] failure = new Exception[1];
    Thread t = new Thread(() -> {
      try {
        result[0] = phase.run();
      } catch (Exception e) {
        failure[0] = e;
      }
    }, "bench-phase");
    t.start();
    t.join();
    if (failure[0] != null) {
      throw failure[0];
    }
    @SuppressWarnings("unchecked")
    T value = (T) result[0];
    return value;
  }

  private static ForwardBatch decode(int streams, int position) {
    return decode(streams, position, SLOTS_PER_SEQUENCE);
  }

  /** One decode token for each of {@code streams} sequences at {@code position}, each in its own range of {@code slots}. */
  static ForwardBatch decode(int streams, int position, int slots) {
    int[] tokens = new int[streams];
    int[] positions = new int[streams];
    long[] write = new long[streams];
    int[] offsets = new int[streams + 1];
    long[][] read = new long[streams][position + 1];
    for (int s = 0; s < streams; s++) {
      tokens[s] = 100 + s;
      positions[s] = position;
      write[s] = (long) s * slots + position;
      offsets[s + 1] = s + 1;
      for (int p = 0; p <= position; p++) {
        read[s][p] = (long) s * slots + p;
      }
    }
    return new ForwardBatch(tokens, positions, write, offsets, read);
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static String load() {
    return String.format("%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
  }
}
