package io.infermesh.core.engine;

import java.util.ArrayList;
import java.util.List;

/** Test fixtures for other packages: random-weight Llama checkpoints held in memory, and their greedy output. */
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

  /** What {@code model} (holding every layer) generates greedily after {@code prompt}, one sequence alone. */
  public static List<Integer> greedy(LlamaModel model, int[] prompt, int maxTokens) {
    List<Integer> out = new ArrayList<>();
    float[] logits = model.forward(ForwardBatch.contiguous(prompt, 0))[0];
    int pos = prompt.length;
    for (int i = 0; i < maxTokens; i++) {
      int next = Sampler.argmax(logits);
      out.add(next);
      logits = model.forward(ForwardBatch.contiguous(new int[] {next}, pos++))[0];
    }
    return out;
  }
}
