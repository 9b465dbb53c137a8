package io.infermesh.core.engine;

/**
 * Restricts which tokens a sequence may sample next (constrained decoding, e.g. a grammar). One
 * instance per sequence, created by its {@link Sampler}; stateful and confined to the sampling
 * thread.
 */
public interface TokenConstraint {
  /** Sets the logit of every token that may not come next to {@code -Infinity}; {@code row} is {@code (vocab)}. */
  void mask(float[] row);

  /** Moves past {@code token}, the one that was sampled. */
  void accept(int token);

  /** Makes one constraint per sequence. Thread-safe. */
  @FunctionalInterface
  interface Factory {
    /** No constraint: {@link #create()} returns null. */
    Factory NONE = () -> null;

    /** A fresh constraint for a new sequence, or null for none. */
    TokenConstraint create();
  }
}
