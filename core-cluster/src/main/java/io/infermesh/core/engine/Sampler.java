package io.infermesh.core.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks tokens from logits: greedy, or temperature → top-k → top-p → a seeded draw. One sampler
 * per sequence (it owns that sequence's random stream). Not thread-safe.
 */
public final class Sampler {
  private static final float NEGLIGIBLE = 40f;
  private final SamplingParams params;
  private final SplittableRandom random;
  private final TokenConstraint constraint; // null when unconstrained

  public Sampler(SamplingParams params) {
    this.params = params;
    this.random = new SplittableRandom(params.seed());
    this.constraint = params.constraint().create();
  }

  /**
   * The next token for {@code logits}, {@code (vocab)}. Never modifies {@code logits}. A
   * constrained sampler masks a copy first and moves its constraint past the token it returns.
   */
  public int sample(float[] logits) {
    if (constraint == null) {
      return pick(logits);
    }
    float[] masked = logits.clone();
    constraint.mask(masked);
    int token = pick(masked);
    constraint.accept(token);
    return token;
  }

  private int pick(float[] logits) {
    if (params.greedy()) {
      return argmax(logits);
    }
    // Candidates in descending logit order. Tokens more than NEGLIGIBLE below the best (at this
    // temperature) have relative probability < e^-40 and are dropped before sorting.
    float best = logits[argmax(logits)];
    float floor = best - NEGLIGIBLE * params.temperature();
    int count = 0;
    for (float l : logits) {
      if (l >= floor) {
        count++;
      }
    }
    Integer[] order = new Integer[count];
    for (int i = 0, j = 0; i < logits.length; i++) {
      if (logits[i] >= floor) {
        order[j++] = i;
      }
    }
    Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
    int keep = params.topK() > 0 ? Math.min(params.topK(), count) : count;
    // softmax over the kept candidates at temperature T
    double max = logits[order[0]];
    double[] p = new double[keep];
    double sum = 0;
    for (int i = 0; i < keep; i++) {
      p[i] = Math.exp((logits[order[i]] - max) / params.temperature());
      sum += p[i];
    }
    // top-p: smallest prefix whose mass reaches topP
    double mass = 0;
    int cut = keep;
    for (int i = 0; i < keep; i++) {
      mass += p[i] / sum;
      if (mass >= params.topP()) {
        cut = i + 1;
        break;
      }
    }
    double total = 0;
    for (int i = 0; i < cut; i++) {
      total += p[i];
    }
    double r = random.nextDouble() * total;
    for (int i = 0; i < cut; i++) {
      r -= p[i];
      if (r < 0) {
        return order[i];
      }
    }
    return order[cut - 1];
  }

  /** Index of the largest logit; the lowest index wins ties. */
  public static int argmax(float[] logits) {
    int best = 0;
    for (int i = 1; i < logits.length; i++) {
      if (logits[i] > logits[best]) {
        best = i;
      }
    }
    return best;
  }
}
