package io.infermesh.core.engine;

import java.util.Objects;

/**
 * How to pick the next token from logits, with OpenAI semantics.
 *
 * @param temperature softmax temperature in [0, 2]; 0 is greedy (argmax)
 * @param topK sample among the k most likely tokens; 0 disables the cut
 * @param topP nucleus mass in (0, 1]; 1 disables the cut
 * @param seed seed of the random stream; the same seed on the same logits gives the same tokens
 * @param penalties logit bias and presence/frequency penalties applied before the draw
 * @param topLogprobs -1 to report no log-probabilities; else report each sampled token's and this
 *     many (0 to 20) most likely alternatives ({@link Sampler#lastLogprobs()})
 * @param constraint which tokens may come next (constrained decoding), applied after the penalties;
 *     {@link TokenConstraint.Factory#NONE} for any
 */
public record SamplingParams(float temperature, int topK, float topP, long seed, Penalties penalties,
    int topLogprobs, TokenConstraint.Factory constraint) {

  /** The most alternatives a request may ask log-probabilities for (OpenAI's limit). */
  public static final int MAX_TOP_LOGPROBS = 20;

  /** Greedy decoding. */
  public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0L);

  /** No penalties, no log-probabilities, no constraint. */
  public SamplingParams(float temperature, int topK, float topP, long seed) {
    this(temperature, topK, topP, seed, Penalties.NONE, -1);
  }

  /** Unconstrained sampling. */
  public SamplingParams(float temperature, int topK, float topP, long seed, Penalties penalties, int topLogprobs) {
    this(temperature, topK, topP, seed, penalties, topLogprobs, TokenConstraint.Factory.NONE);
  }

  /** These parameters, with every token restricted by {@code factory}'s constraint. */
  public SamplingParams withConstraint(TokenConstraint.Factory factory) {
    return new SamplingParams(temperature, topK, topP, seed, penalties, topLogprobs, factory);
  }

  /** These parameters with another seed (choice {@code i} of a request draws with {@code seed + i}). */
  public SamplingParams withSeed(long other) {
    return new SamplingParams(temperature, topK, topP, other, penalties, topLogprobs, constraint);
  }

  public SamplingParams {
    Objects.requireNonNull(constraint, "constraint");
    if (!(temperature >= 0f && temperature <= 2f)) {
      throw new IllegalArgumentException("temperature must be in [0, 2], got " + temperature);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must not be negative, got " + topK);
    }
    if (!(topP > 0f && topP <= 1f)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
    }
    Objects.requireNonNull(penalties, "penalties");
    if (topLogprobs < -1 || topLogprobs > MAX_TOP_LOGPROBS) {
      throw new IllegalArgumentException("top_logprobs must be -1 (off) or in [0, 20], got " + topLogprobs);
    }
  }

  /** Whether log-probabilities are reported. */
  public boolean logprobs() {
    return topLogprobs >= 0;
  }

  public boolean greedy() {
    return temperature == 0f;
  }
}
