package io.infermesh.core.bench;

import ai.djl.Device;
import ai.djl.pytorch.jni.JniUtils;
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
 * Whole decode steps of the ~200M F32 Llama that {@link CoreVsReferenceBenchmark} uses, the engine
 * before and after {@code ParallelGemv}, the same weights loaded twice in one process and run
 * alternately step by step so a loaded machine slows both alike (not a unit test; run its main,
 * arguments: threads, default 2, then rounds, default 5). <b>PyTorch pool</b>, the engine before: a
 * model loaded with no thread split, run with PyTorch's intra-op pool at the argument's threads;
 * <b>engine split</b>, the engine now: loaded after {@code DjlRuntime.threads(n)}, each weight
 * product split across n threads of its own, PyTorch's pool at one. Prints, for 1 and 16
 * sequences at position ~64 and a 32-token prefill, the median wall time and process CPU time of a
 * step, tokens/s, and the largest logit difference between the two (0: the split changes nothing
 * in the arithmetic).
 *
 * <pre>
 * java -cp "$(cat cp.txt):core-cluster/target/classes:core-cluster/target/test-classes" \
 *     io.infermesh.core.bench.DecodeStepBenchmark 2 5
 * </pre>
 */
public final class DecodeStepBenchmark {
  private static final int SLOTS_PER_SEQUENCE = 256;
  private static final int START = 64;
  private static final int PREFILL = 32;
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
      DjlRuntime.threads(1); // no split
      LlamaModel pool = LlamaModel.load(cp.config(), LayerRange.all(cp.config().layers()), cp, Device.cpu(), slots);
      DjlRuntime.threads(threads);
      LlamaModel split = LlamaModel.load(cp.config(), LayerRange.all(cp.config().layers()), cp, Device.cpu(), slots);
      int[] intraOp = {threads, 1};
      try (pool; split) {
        LlamaModel[] models = {pool, split};
        String[] names = {"PyTorch pool " + threads, "engine split " + threads};
        System.out.printf("model %s; PyTorch intra-op threads %d; load average %.2f%n", ref.gguf().getFileName(),
            threads, OS.getSystemLoadAverage());
        for (int streams : new int[] {1, 16, 0}) { // 0: prefill one 32-token prompt
          int steps = streams == 1 ? 16 : 4;
          double[] diff = new double[1];
          for (int w = 0; w < 2; w++) { // warm-up; the logits of the same step compared
            JniUtils.setNumThreads(intraOp[0]);
            float[] a = pool.step(batch(streams, START - 2 + w), null);
            JniUtils.setNumThreads(intraOp[1]);
            float[] b = split.step(batch(streams, START - 2 + w), null);
            for (int i = 0; i < a.length; i++) {
              diff[0] = Math.max(diff[0], Math.abs(a[i] - b[i]));
            }
          }
          List<List<Double>> wall = List.of(new ArrayList<>(), new ArrayList<>());
          List<List<Double>> cpu = List.of(new ArrayList<>(), new ArrayList<>());
          for (int r = 0; r < rounds; r++) {
            for (int s = 0; s < steps; s++) {
              for (int m = 0; m < 2; m++) {
                JniUtils.setNumThreads(intraOp[m]);
                long c0 = OS.getProcessCpuTime();
                long w0 = System.nanoTime();
                models[m].step(batch(streams, START + s), null);
                wall.get(m).add((System.nanoTime() - w0) / 1e6);
                cpu.get(m).add((OS.getProcessCpuTime() - c0) / 1e6);
              }
            }
          }
          double base = median(wall.get(0));
          for (int m = 0; m < 2; m++) {
            double ms = median(wall.get(m));
            int tokens = streams == 0 ? PREFILL : streams;
            System.out.printf("%-20s %-18s median %8.2f ms/step wall (%.2fx), %8.2f ms CPU, %7.1f tok/s (%d steps)%n",
                what(streams), names[m], ms, base / ms, median(cpu.get(m)), tokens * 1e3 / ms, wall.get(m).size());
          }
          System.out.printf("%-20s max |logit difference| between the two: %g; load average %.2f%n", what(streams),
              diff[0], OS.getSystemLoadAverage());
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

  private static String what(int streams) {
    return streams == 0 ? "prefill " + PREFILL + " tokens" : streams + " sequence(s)";
  }

  /** {@code streams} sequences' decode tokens at {@code position}, or (0) a fresh prompt's prefill. */
  private static ForwardBatch batch(int streams, int position) {
    if (streams == 0) {
      int[] prompt = new int[PREFILL];
      Arrays.setAll(prompt, i -> 100 + i);
      return ForwardBatch.contiguous(prompt, 0);
    }
    return LargeShape.decode(streams, position, SLOTS_PER_SEQUENCE);
  }
}
