package io.infermesh.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/**
 * The draft verifier leaves the sampler's output distribution exactly as it is: greedy keeps the
 * argmax prefix; sampling (temperature, top-k, top-p, penalties, bias) gives the first two tokens
 * the same distribution with any draft as without, by a chi-square test at fixed seeds that a
 * wrong rejection rule fails.
 */
class DraftVerifierTest {
  private static final int VOCAB = 6;
  private static final float[] ROW0 = {2.0f, 1.5f, 1.2f, 0.3f, -0.5f, -3f};
  private static final float[] ROW1 = {0.1f, 1.9f, 1.0f, 1.4f, 0.0f, -1f};
  private static final float[] ROW2 = {1.0f, 0.2f, 0.4f, 2.2f, 0.9f, 0.5f};
  private static final int SAMPLES = 20_000;
  /** Temperature, top-k, top-p, presence and frequency penalties and a bias: every processor at once. */
  private static final SamplingParams SAMPLED =
      new SamplingParams(0.9f, 5, 0.97f, 0, new Penalties(0.8f, 0.4f, Map.of(3, 0.5f)), -1);

  @Test
  void verify_greedy_keepsTheArgmaxPrefixThenTheArgmax() {
    float[] logits = concat(ROW0, ROW1, ROW2);

    assertThat(DraftVerifier.verify(new Sampler(SamplingParams.GREEDY), new int[] {0, 1}, logits, 0, VOCAB))
        .containsExactly(0, 1, 3);
    assertThat(DraftVerifier.verify(new Sampler(SamplingParams.GREEDY), new int[] {0, 4}, logits, 0, VOCAB))
        .containsExactly(0, 1);
    assertThat(DraftVerifier.verify(new Sampler(SamplingParams.GREEDY), new int[] {5, 1}, logits, 0, VOCAB))
        .containsExactly(0);
  }

  @Test
  void verify_sampledWithAnyDraft_firstTwoTokensAreDistributedAsWithout() {
    long[] plain = histogram(seed -> {
      Sampler s = new Sampler(SAMPLED.withSeed(seed));
      return new int[] {s.sample(ROW0), s.sample(ROW1)};
    });
    for (int[] draft : new int[][] {{0, 1}, {1, 3}, {3, 3}, {5, 4}}) {
      long[] drafted = histogram(seed -> firstTwo(new Sampler(SAMPLED.withSeed(1_000_000 + seed)), draft));

      assertThat(chiSquare(plain, drafted)).as("draft %s", Arrays.toString(draft))
          .isLessThan(critical(degreesOfFreedom(plain, drafted)));
    }
  }

  @Test
  void chiSquare_wrongRejectionRule_isDetected() {
    // p = softmax(ROW0): no cut, no penalty. Wrong rule: after rejecting the draft, sample from p
    // with the draft still in it, so the draft is too likely: p(x) + (1 - p(x)) p(x).
    SamplingParams plainParams = new SamplingParams(1f, 0, 1f, 0);
    double pDraft = softmax(ROW0)[1];
    long[] plain = histogram(seed -> new int[] {new Sampler(plainParams.withSeed(seed)).sample(ROW0), 0});
    long[] wrong = histogram(seed -> {
      Sampler s = new Sampler(plainParams.withSeed(2_000_000 + seed));
      boolean accept = new SplittableRandom(seed).nextDouble() < pDraft;
      return new int[] {accept ? 1 : s.sample(ROW0), 0};
    });
    long[] right = histogram(seed -> new int[] {
        new Sampler(plainParams.withSeed(2_000_000 + seed)).verify(ROW0, 1), 0});

    assertThat(chiSquare(plain, wrong)).isGreaterThan(critical(degreesOfFreedom(plain, wrong)));
    assertThat(chiSquare(plain, right)).isLessThan(critical(degreesOfFreedom(plain, right)));
  }

  /** The first two tokens with {@code draft} verified over the rows; the second decoded after a rejection. */
  private static int[] firstTwo(Sampler s, int[] draft) {
    int[] out = DraftVerifier.verify(s, draft, concat(ROW0, ROW1, ROW2), 0, VOCAB);
    return out.length >= 2 ? new int[] {out[0], out[1]} : new int[] {out[0], s.sample(ROW1)};
  }

  /** Counts of each (first, second) token pair over seeds {@code 0 .. SAMPLES - 1}. */
  private static long[] histogram(LongFunction<int[]> run) {
    long[] counts = new long[VOCAB * VOCAB];
    for (long seed = 0; seed < SAMPLES; seed++) {
      int[] two = run.apply(seed);
      counts[two[0] * VOCAB + two[1]]++;
    }
    return counts;
  }

  /** Two-sample chi-square statistic of equal-size samples over the cells either one hit. */
  private static double chiSquare(long[] a, long[] b) {
    double x = 0;
    for (int i = 0; i < a.length; i++) {
      double expected = (a[i] + b[i]) / 2.0;
      if (expected > 0) {
        x += (a[i] - expected) * (a[i] - expected) / expected + (b[i] - expected) * (b[i] - expected) / expected;
      }
    }
    return x;
  }

  private static int degreesOfFreedom(long[] a, long[] b) {
    int cells = 0;
    for (int i = 0; i < a.length; i++) {
      cells += a[i] + b[i] > 0 ? 1 : 0;
    }
    return Math.max(1, cells - 1);
  }

  /** The chi-square quantile at 1 - 0.001 (Wilson–Hilferty): a false alarm once in a thousand seed sets. */
  private static double critical(int df) {
    double z = 3.09;
    double t = 1 - 2.0 / (9 * df) + z * Math.sqrt(2.0 / (9 * df));
    return df * t * t * t;
  }

  private static double[] softmax(float[] row) {
    double max = Double.NEGATIVE_INFINITY;
    for (float l : row) {
      max = Math.max(max, l);
    }
    double[] p = new double[row.length];
    double sum = 0;
    for (int i = 0; i < row.length; i++) {
      p[i] = Math.exp(row[i] - max);
      sum += p[i];
    }
    for (int i = 0; i < row.length; i++) {
      p[i] /= sum;
    }
    return p;
  }

  private static float[] concat(float[]... rows) {
    float[] out = new float[rows.length * VOCAB];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(rows[i], 0, out, i * VOCAB, VOCAB);
    }
    return out;
  }
}
