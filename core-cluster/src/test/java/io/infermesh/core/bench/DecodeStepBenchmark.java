package io.infermesh.core.bench;

import ai.djl.Device;
import io.infermesh.core.engine.DjlRuntime;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.GgufCheckpoint;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaModel;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Whole decode steps of the ~200M F32 Llama that {@link CoreVsReferenceBenchmark} uses, two engine
 * builds of the same weights side by side in one process, alternating step by step so a loaded
 * machine slows both alike (not a unit test; run its main, argument: PyTorch intra-op threads,
 * default 2, then rounds, default 5). <b>1 thread per product</b>: the model loaded while PyTorch
 * had one intra-op thread, so its one-row products run on the calling thread alone (as every
 * product did before {@code ParallelGemv}); <b>split</b>: loaded with the argument's threads, so a
 * one-row product is split by columns across them. Both then run with the argument's intra-op
 * threads. Prints, for 1 and 16 sequences at position ~64, the median wall time and process CPU
 * time of a step, tokens/s, and the largest logit difference between the two (0 when splitting
 * changes nothing in the arithmetic).
 *
 * <pre>
 * java -cp "$(cat cp.txt):core-cluster/target/classes:core-cluster/target/test-classes" \
 *     io.infermesh.core.bench.DecodeStepBenchmark 2 5
 * </pre>
 */
public final class DecodeStepBenchmark {
  private static final int SLOTS_PER_SEQUENCE = 256;
  private static final int START = 64;
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  private DecodeStepBenchmark() {}

  public static void main(String[] args) throws Exception {
    System.setProperty("ai.djl.offline", "true");
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Path cache = Path.of(System.getProperty("bench.models",
        Path.of(System.getProperty("user.home"), ".cache", "infermesh", "core-bench").toString()));
    ReferenceModel ref = ReferenceModel.writeOrReuse(cache);
    Thread t = new Thread(() -> { // not main: a thread that stays alive would keep an OpenMP team
      try {
        run(ref, threads, rounds);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }, "decode-step-bench");
    t.start();
    t.join();
    System.exit(0);
  }

  private static void run(ReferenceModel ref, int threads, int rounds) throws Exception {
    try (GgufCheckpoint cp = GgufCheckpoint.open(ref.gguf())) {
      int slots = 16 * SLOTS_PER_SEQUENCE;
      DjlRuntime.threads(1);
      LlamaModel single = LlamaModel.load(cp.config(), LayerRange.all(cp.config().layers()), cp, Device.cpu(), slots);
      DjlRuntime.threads(threads);
      LlamaModel split = LlamaModel.load(cp.config(), LayerRange.all(cp.config().layers()), cp, Device.cpu(), slots);
      try (single; split) {
        LlamaModel[] models = {single, split};
        String[] names = {"1 thread per product", "split " + threads + " ways"};
        System.out.printf("model %s; PyTorch intra-op threads %d; load average %.2f%n", ref.gguf().getFileName(),
            threads, OS.getSystemLoadAverage());
        for (int streams : new int[] {1, 16}) {
          int steps = streams == 1 ? 16 : 4;
          double[] diff = new double[1];
          for (int w = 0; w < 2; w++) { // warm-up; the logits of the same step compared
            float[] a = single.step(decode(streams, START - 2 + w), null);
            float[] b = split.step(decode(streams, START - 2 + w), null);
            for (int i = 0; i < a.length; i++) {
              diff[0] = Math.max(diff[0], Math.abs(a[i] - b[i]));
            }
          }
          List<List<Double>> wall = List.of(new ArrayList<>(), new ArrayList<>());
          List<List<Double>> cpu = List.of(new ArrayList<>(), new ArrayList<>());
          for (int r = 0; r < rounds; r++) {
            for (int s = 0; s < steps; s++) {
              for (int m = 0; m < 2; m++) {
                long c0 = OS.getProcessCpuTime();
                long w0 = System.nanoTime();
                models[m].step(decode(streams, START + s), null);
                wall.get(m).add((System.nanoTime() - w0) / 1e6);
                cpu.get(m).add((OS.getProcessCpuTime() - c0) / 1e6);
              }
            }
          }
          double base = median(wall.get(0));
          for (int m = 0; m < 2; m++) {
            double ms = median(wall.get(m));
            System.out.printf("%2d sequence(s), %-22s median %7.2f ms/step wall (%.2fx), %7.2f ms CPU, %6.1f tok/s"
                + " (%d steps)%n", streams, names[m], ms, base / ms, median(cpu.get(m)), streams * 1e3 / ms,
                wall.get(m).size());
          }
          System.out.printf("%2d sequence(s): max |logit difference| between the two: %g; load average %.2f%n",
              streams, diff[0], OS.getSystemLoadAverage());
        }
        System.out.printf("helper threads of the split products: %d%n", gemvThreads());
      }
    }
  }

  private static long gemvThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("infermesh-gemv")).count();
  }

  private static double median(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(v);
    return v[v.length / 2];
  }

  /** One decode token for each of {@code streams} sequences at {@code position}, each in its own slot range. */
  private static ForwardBatch decode(int streams, int position) {
    int[] tokens = new int[streams];
    int[] positions = new int[streams];
    long[] write = new long[streams];
    int[] offsets = new int[streams + 1];
    long[][] read = new long[streams][position + 1];
    for (int s = 0; s < streams; s++) {
      tokens[s] = 100 + s;
      positions[s] = position;
      write[s] = (long) s * SLOTS_PER_SEQUENCE + position;
      offsets[s + 1] = s + 1;
      for (int p = 0; p <= position; p++) {
        read[s][p] = (long) s * SLOTS_PER_SEQUENCE + p;
      }
    }
    return new ForwardBatch(tokens, positions, write, offsets, read);
  }
}
