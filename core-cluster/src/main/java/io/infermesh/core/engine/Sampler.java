package io.infermesh.core.engine;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Picks tokens from logits: logit bias and presence/frequency penalties ({@link Penalties}), then
 * greedy, or temperature → top-k → top-p → a seeded draw; optionally reports the log-probabilities
 * of what it picked. One sampler per sequence (it owns that sequence's random stream and the counts
 * of the tokens it produced). Not thread-safe.
 */
public final class Sampler {
  private static final float NEGLIGIBLE = 40f;
  private final SamplingParams params;
  private final SplittableRandom random;
  private final Map<Integer, Integer> counts = new HashMap<>(); // generated token → occurrences
  private final TokenConstraint constraint; // null when unconstrained
  private TokenLogprobs lastLogprobs;

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
    float[] adjusted = adjust(logits);
    if (constraint != null) {
      adjusted = adjusted == logits ? logits.clone() : adjusted;
      constraint.mask(adjusted); // logprobs below are those of the distribution drawn from
    }
    int token = draw(adjusted);
    if (constraint != null) {
      constraint.accept(token);
    }
    if (params.penalties().countsTokens()) {
      counts.merge(token, 1, Integer::sum);
    }
    if (params.logprobs()) {
      lastLogprobs = logprobs(adjusted, token, params.topLogprobs());
    }
    return token;
  }

  /** The log-probabilities of the last sampled token, when {@link SamplingParams#logprobs()}; else null. */
  public TokenLogprobs lastLogprobs() {
    return lastLogprobs;
  }

  /** {@code logits} with the bias and penalties applied: a copy when anything changes. */
  private float[] adjust(float[] logits) {
    Penalties p = params.penalties();
    if (!p.active()) {
      return logits;
    }
    float[] out = logits.clone();
    for (Map.Entry<Integer, Float> e : p.logitBias().entrySet()) {
      if (e.getKey() < out.length) {
        out[e.getKey()] += e.getValue();
      }
    }
    for (Map.Entry<Integer, Integer> e : counts.entrySet()) {
      out[e.getKey()] -= p.frequency() * e.getValue() + p.presence();
    }
    return out;
  }

  /**
   * log softmax(logits)[token] and the {@code top} largest entries: {@code logprob(t) = l[t] - max
   * - log Σ exp(l[i] - max)}.
   */
  static TokenLogprobs logprobs(float[] logits, int token, int top) {
    float max = logits[argmax(logits)];
    double sum = 0;
    for (float l : logits) {
      sum += Math.exp(l - max);
    }
    float logZ = (float) (max + Math.log(sum));
    int k = Math.min(top, logits.length);
    int[] ids = new int[k];
    float[] values = new float[k];
    int filled = 0;
    // insertion into a k-long descending list: O(vocab * k), k ≤ 20
    for (int i = 0; i < logits.length && k > 0; i++) {
      float l = logits[i];
      if (l == Float.NEGATIVE_INFINITY || filled == k && l <= values[k - 1]) { // masked out: not an alternative
        continue;
      }
      int at = filled < k ? filled++ : k - 1;
      while (at > 0 && values[at - 1] < l) {
        values[at] = values[at - 1];
        ids[at] = ids[at - 1];
        at--;
      }
      values[at] = l;
      ids[at] = i;
    }
    for (int i = 0; i < filled; i++) {
      values[i] -= logZ;
    }
    return new TokenLogprobs(token, logits[token] - logZ, ids, values);
  }

  private int draw(float[] logits) {
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
