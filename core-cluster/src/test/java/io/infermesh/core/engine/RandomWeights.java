package io.infermesh.core.engine;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/** A deterministic random Llama checkpoint held in memory, for engine tests. */
final class RandomWeights implements TensorSource {
  private final Map<String, float[]> tensors = new HashMap<>();
  private final Map<String, long[]> shapes = new HashMap<>();

  RandomWeights(LlamaConfig c, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    put(Names.EMBED, random, 1.0, c.vocabSize(), c.dim());
    for (int l = 0; l < c.layers(); l++) {
      norm(Names.attnNorm(l), random, c.dim());
      norm(Names.ffnNorm(l), random, c.dim());
      put(Names.q(l), random, 1 / Math.sqrt(c.dim()), c.qDim(), c.dim());
      put(Names.k(l), random, 1 / Math.sqrt(c.dim()), c.kvDim(), c.dim());
      put(Names.v(l), random, 1 / Math.sqrt(c.dim()), c.kvDim(), c.dim());
      put(Names.o(l), random, 1 / Math.sqrt(c.qDim()), c.dim(), c.qDim());
      put(Names.gate(l), random, 1 / Math.sqrt(c.dim()), c.ffnDim(), c.dim());
      put(Names.up(l), random, 1 / Math.sqrt(c.dim()), c.ffnDim(), c.dim());
      put(Names.down(l), random, 1 / Math.sqrt(c.ffnDim()), c.dim(), c.ffnDim());
    }
    norm(Names.NORM, random, c.dim());
    if (!c.tiedEmbeddings()) {
      put(Names.LM_HEAD, random, 1 / Math.sqrt(c.dim()), c.vocabSize(), c.dim());
    }
  }

  static LlamaConfig config(int vocab, int dim, int ffn, int layers, int heads, int kvHeads, int ctx, boolean tied) {
    int headDim = dim / heads;
    return new LlamaConfig(vocab, dim, ffn, layers, heads, kvHeads, headDim, ctx, 1e-5f,
        LlamaConfig.ropeFrequencies(10000, headDim), tied, 1, Set.of(2));
  }

  private void norm(String name, SplittableRandom random, int dim) {
    float[] w = new float[dim];
    for (int i = 0; i < dim; i++) {
      w[i] = (float) (1 + 0.1 * (random.nextDouble() - 0.5));
    }
    tensors.put(name, w);
    shapes.put(name, new long[] {dim});
  }

  private void put(String name, SplittableRandom random, double scale, int rows, int cols) {
    float[] w = new float[rows * cols];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) ((random.nextDouble() * 2 - 1) * scale * Math.sqrt(3));
    }
    tensors.put(name, w);
    shapes.put(name, new long[] {rows, cols});
  }

  @Override
  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  @Override
  public float[] read(String name, long... shape) {
    float[] t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException("no tensor " + name);
    }
    if (!Arrays.equals(shapes.get(name), shape)) {
      throw new IllegalArgumentException("shape mismatch for " + name);
    }
    return t;
  }

  @Override
  public void close() {}
}
