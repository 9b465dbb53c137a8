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
    float[] adjusted = processed(logits);
    int token = draw(adjusted);
    advance(adjusted, token);
    return token;
  }

  /**
   * The next token for {@code logits}, {@code (vocab)}, given that a deterministic draft proposes
   * {@code draft}: {@code draft} itself when it is accepted, else a replacement (never {@code
   * draft}). Its distribution is exactly {@link #sample}'s: greedy accepts iff {@code draft} is the
   * argmax; sampling accepts with probability {@code p(draft)} and otherwise draws from {@code p}
   * with {@code draft} removed and renormalised — speculative sampling with a point-mass draft
   * ({@code P(x) = p(draft) [x = draft] + (1 - p(draft)) p(x) / (1 - p(draft)) [x != draft] = p(x)}).
   * Penalties and the constraint move past the returned token as after {@link #sample}.
   */
  public int verify(float[] logits, int draft) {
    float[] adjusted = processed(logits);
    int token;
    if (params.greedy()) {
      token = argmax(adjusted);
    } else {
      Candidates c = candidates(adjusted);
      double pDraft = c.weight(draft) / c.total();
      if (random.nextDouble() < pDraft) {
        token = draft;
      } else {
        double r = random.nextDouble() * (c.total() - c.weight(draft));
        token = -1; // p(draft) < 1 here, so another candidate exists
        for (int i = 0; i < c.ids.length && (token < 0 || r >= 0); i++) {
          if (c.ids[i] != draft) {
            token = c.ids[i]; // the last one stays picked when rounding leaves r >= 0
            r -= c.weights[i];
          }
        }
      }
    }
    advance(adjusted, token);
    return token;
  }

  /** {@code logits} after the bias, the penalties and the constraint's mask: a copy when anything changes. */
  private float[] processed(float[] logits) {
    float[] adjusted = adjust(logits);
    if (constraint != null) {
      adjusted = adjusted == logits ? logits.clone() : adjusted;
      constraint.mask(adjusted); // logprobs below are those of the distribution drawn from
    }
    return adjusted;
  }

  /** Moves the constraint and the penalty counts past {@code token}; records its log-probabilities. */
  private void advance(float[] adjusted, int token) {
    if (constraint != null) {
      constraint.accept(token);
    }
    if (params.penalties().countsTokens()) {
      counts.merge(token, 1, Integer::sum);
    }
    if (params.logprobs()) {
      lastLogprobs = logprobs(adjusted, token, params.topLogprobs());
    }
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
    Candidates c = candidates(logits);
    double r = random.nextDouble() * c.total();
    for (int i = 0; i < c.ids.length; i++) {
      r -= c.weights[i];
      if (r < 0) {
        return c.ids[i];
      }
    }
    return c.ids[c.ids.length - 1];
  }

  /**
   * The tokens a draw may pick, in descending logit order, with unnormalised weights: temperature,
   * then top-k, then top-p. Tokens more than NEGLIGIBLE below the best (at this temperature) have
   * relative probability < e^-40 and are dropped before sorting.
   */
  private Candidates candidates(float[] logits) {
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
    int[] ids = new int[cut];
    for (int i = 0; i < cut; i++) {
      ids[i] = order[i];
    }
    return new Candidates(ids, Arrays.copyOf(p, cut));
  }

  /** Candidate tokens and their unnormalised weights, {@code (cut)} each. */
  private record Candidates(int[] ids, double[] weights) {

    double total() {
      double t = 0;
      for (double w : weights) {
        t += w;
      }
      return t;
    }

    /** The weight of {@code token}; 0 when it is not a candidate. */
    double weight(int token) {
      for (int i = 0; i < ids.length; i++) {
        if (ids[i] == token) {
          return weights[i];
        }
      }
      return 0;
    }
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
