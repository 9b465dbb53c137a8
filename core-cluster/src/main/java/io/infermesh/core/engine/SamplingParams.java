package io.infermesh.core.engine;

/**
 * How to pick the next token from logits, with OpenAI semantics.
 *
 * @param temperature softmax temperature in [0, 2]; 0 is greedy (argmax)
 * @param topK sample among the k most likely tokens; 0 disables the cut
 * @param topP nucleus mass in (0, 1]; 1 disables the cut
 * @param seed seed of the random stream; the same seed on the same logits gives the same tokens
 * @param constraint which tokens may come next (constrained decoding); {@link TokenConstraint.Factory#NONE}
 *     for any
 */
public record SamplingParams(float temperature, int topK, float topP, long seed, TokenConstraint.Factory constraint) {

  /** Greedy decoding. */
  public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0L);

  /** Unconstrained sampling. */
  public SamplingParams(float temperature, int topK, float topP, long seed) {
    this(temperature, topK, topP, seed, TokenConstraint.Factory.NONE);
  }

  /** These parameters, with every token restricted by {@code factory}'s constraint. */
  public SamplingParams withConstraint(TokenConstraint.Factory factory) {
    return new SamplingParams(temperature, topK, topP, seed, factory);
  }

  public SamplingParams {
    java.util.Objects.requireNonNull(constraint, "constraint");
    if (!(temperature >= 0f && temperature <= 2f)) {
      throw new IllegalArgumentException("temperature must be in [0, 2], got " + temperature);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must not be negative, got " + topK);
    }
    if (!(topP > 0f && topP <= 1f)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
    }
  }

  public boolean greedy() {
    return temperature == 0f;
  }
}
