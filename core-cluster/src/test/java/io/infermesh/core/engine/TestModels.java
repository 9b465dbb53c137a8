package io.infermesh.core.engine;

/** Test fixtures for other packages: random-weight Llama checkpoints held in memory. */
public final class TestModels {
  private TestModels() {}

  /** A Llama config with head size {@code dim / heads}, RoPE theta 10000, BOS 1, EOS 2. */
  public static LlamaConfig config(int vocab, int dim, int ffn, int layers, int heads, int kvHeads, int ctx,
      boolean tied) {
    return RandomWeights.config(vocab, dim, ffn, layers, heads, kvHeads, ctx, tied);
  }

  /** Deterministic random weights for {@code config}. */
  public static TensorSource random(LlamaConfig config, long seed) {
    return new RandomWeights(config, seed);
  }
}
