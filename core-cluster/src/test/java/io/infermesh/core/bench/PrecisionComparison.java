package io.infermesh.core.bench;

import ai.djl.Device;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.TensorSource;
import io.infermesh.core.engine.TestModels;
import io.infermesh.core.engine.WeightPrecision;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@link EngineBenchmark}'s comparison of weight precisions (see its Javadoc): the same random
 * weights loaded once per precision, measured in interleaved rounds, medians printed.
 */
final class PrecisionComparison {
  private static final int ROUNDS = 3;
  private static final int PROMPT = 200;
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  private PrecisionComparison() {}

  static void run(int threads, String precisionList, String shape) throws Exception {
    List<WeightPrecision> precisions = Arrays.stream(precisionList.split(",")).map(WeightPrecision::parse).toList();
    LlamaConfig config = switch (shape) {
      // ~201M parameters: 12 x 11.3M in the blocks, 2 x 32.8M in the untied embedding and head
      case "200m" -> TestModels.config(32000, 1024, 2816, 12, 16, 4, 2048, false);
      case "tiny" -> TestModels.config(512, 128, 384, 4, 8, 2, 1024, false);
      default -> throw new IllegalArgumentException("shape must be 200m or tiny, got " + shape);
    };
    int tokens = shape.equals("200m") ? 32 : 64;
    TensorSource weights = TestModels.random(config, 0x5EED);
    List<LlamaModel> models = new ArrayList<>();
    try {
      for (WeightPrecision p : precisions) {
        models.add(LlamaModel.load(config, LayerRange.all(config.layers()), weights, Device.cpu(), 64 * 256, p));
      }
      System.out.printf("shape %s: dim %d, %d layers, ffn %d, vocab %d; engine threads %d; %d rounds,"
          + " medians%n", shape, config.dim(), config.layers(), config.ffnDim(), config.vocabSize(), threads, ROUNDS);
      int[] prompt = prompt(config.vocabSize());
      float[] reference = models.get(0).forward(ForwardBatch.contiguous(prompt, 0))[0];
      List<Integer> referenceTokens = TestModels.greedy(models.get(0), prompt, 16);
      for (int i = 1; i < models.size(); i++) {
        float[] logits = models.get(i).forward(ForwardBatch.contiguous(prompt, 0))[0];
        List<Integer> greedy = TestModels.greedy(models.get(i), prompt, 16);
        int same = 0;
        while (same < greedy.size() && greedy.get(same).equals(referenceTokens.get(same))) {
          same++;
        }
        System.out.printf("%s vs %s: max |logit diff| %.5f (logit range %.3f), greedy tokens equal for %d of 16%n",
            precisions.get(i), precisions.get(0), maxAbsDiff(reference, logits), range(reference), same);
      }
      // [precision][measure][round]; measures: prefill wall ms, CPU ms; 1 stream tok/s, tok/CPU-s; 16 streams alike
      double[][][] results = new double[precisions.size()][6][ROUNDS];
      for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < models.size(); i++) {
          LlamaModel model = models.get(i);
          double[] prefill = measure(() -> {
            model.forward(ForwardBatch.contiguous(prompt, 0));
            return 1;
          });
          double[] one = measure(() -> EngineBenchmark.aggregate(model, 1, tokens));
          double[] sixteen = measure(() -> EngineBenchmark.aggregate(model, 16, tokens));
          double[] row = {1e3 / prefill[0], 1e3 / prefill[1], one[0], one[1], sixteen[0], sixteen[1]};
          for (int m = 0; m < row.length; m++) {
            results[i][m][r] = row[m];
          }
        }
      }
      System.out.println("wall clock (CPU time in brackets: process CPU, the fairer figure on a shared machine);"
          + " ratios to " + precisions.get(0));
      for (int i = 0; i < precisions.size(); i++) {
        double[] m = new double[6];
        double[] ratio = new double[6];
        for (int k = 0; k < 6; k++) {
          m[k] = median(results[i][k]);
          double base = median(results[0][k]);
          ratio[k] = k < 2 ? base / m[k] : m[k] / base; // prefill: time, lower is better
        }
        System.out.printf("%-14s prefill %d tokens %7.0f ms %.2fx [%7.0f ms %.2fx]  decode 1 stream %6.2f tok/s %.2fx"
            + " [%6.2f %.2fx]  16 streams %6.2f tok/s %.2fx [%6.2f %.2fx]%n", precisions.get(i), PROMPT, m[0], ratio[0],
            m[1], ratio[1], m[2], ratio[2], m[3], ratio[3], m[4], ratio[4], m[5], ratio[5]);
      }
      System.out.printf("load average at the end: %.2f on %d CPUs%n",
          ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), Runtime.getRuntime().availableProcessors());
    } finally {
      models.forEach(LlamaModel::close);
    }
  }

  private interface Tokens {
    long generate() throws Exception;
  }

  /** {work per wall second, work per process CPU second}. */
  private static double[] measure(Tokens run) throws Exception {
    long w0 = System.nanoTime();
    long c0 = OS.getProcessCpuTime();
    long n = run.generate();
    return new double[] {n / ((System.nanoTime() - w0) / 1e9), n / ((OS.getProcessCpuTime() - c0) / 1e9)};
  }

  private static int[] prompt(int vocab) {
    int[] p = new int[PROMPT];
    p[0] = 1;
    for (int i = 1; i < p.length; i++) {
      p[i] = 3 + (i * 7919) % (vocab - 3);
    }
    return p;
  }

  static double maxAbsDiff(float[] a, float[] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }

  private static double range(float[] a) {
    double lo = Double.MAX_VALUE;
    double hi = -Double.MAX_VALUE;
    for (float v : a) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return hi - lo;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }
}
