package io.infermesh.models.tiny;

import io.infermesh.models.gguf.GgmlType;
import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a tiny Llama model and how their values are drawn.
 *
 * <p>Every tensor has its own SplitMix64 stream, seeded from the spec's seed and the tensor's
 * index, and is drawn in row order, so a tensor can be generated in parts of any size with the
 * same result. Values are uniform with the standard deviation below, computed in float
 * arithmetic only, hence identical on every JVM:
 *
 * <pre>
 * token_embd.weight   [n_embd, n_vocab]   sd 1
 * *_norm.weight       [n_embd]            1 + U(-0.2, 0.2)       (F32 always)
 * attn_q/k/v/output, ffn_gate/up/down     sd 1 / sqrt(fan_in)    keeps activations near unit size
 * output.weight       [n_embd, n_vocab]   sd 3 / sqrt(n_embd)    logits of sd ~3: few near-ties
 * </pre>
 *
 * <p>Immutable and thread-safe; {@link Stream} instances are not.
 */
final class TinyWeights {
  /** One tensor to write. */
  record Tensor(String name, GgmlType type, long[] dims, float center, float halfWidth, long seed) {
    long elements() {
      long n = 1;
      for (long d : dims) n *= d;
      return n;
    }

    /** Draws the tensor's values in order. */
    Stream stream() {
      return new Stream(this);
    }
  }

  /** Draws one tensor's values; not thread-safe. */
  static final class Stream {
    private final Tensor tensor;
    private final SplitMix64 rng;
    private long pending;
    private boolean hasPending;

    private Stream(Tensor tensor) {
      this.tensor = tensor;
      this.rng = new SplitMix64(tensor.seed());
    }

    /** Fills {@code out[0, count)} with the next values. */
    void next(float[] out, int count) {
      float a = tensor.halfWidth();
      float c = tensor.center();
      for (int i = 0; i < count; i++) {
        int bits;
        if (hasPending) {
          bits = (int) pending;
          hasPending = false;
        } else {
          pending = rng.nextLong();
          bits = (int) (pending >>> 32);
          hasPending = true;
        }
        float u = (bits >>> 8) * 0x1.0p-24f; // [0, 1), 24 random bits
        out[i] = c + (2f * u - 1f) * a;
      }
    }
  }

  private TinyWeights() {}

  /** The tensors of {@code spec} in file order. */
  static List<Tensor> tensors(TinyModelSpec spec, int vocabularySize) {
    long e = spec.embeddingLength();
    long kv = (long) spec.headCountKv() * spec.headSize();
    long ff = spec.feedForwardLength();
    GgmlType w = spec.weightType();
    List<Tensor> out = new ArrayList<>();
    Builder b = new Builder(spec.seed(), out);
    b.uniform("token_embd.weight", w, 1f, e, vocabularySize);
    for (int layer = 0; layer < spec.blockCount(); layer++) {
      String p = "blk." + layer + ".";
      b.norm(p + "attn_norm.weight", e);
      b.uniform(p + "attn_q.weight", w, inverseSqrt(e), e, e);
      b.uniform(p + "attn_k.weight", w, inverseSqrt(e), e, kv);
      b.uniform(p + "attn_v.weight", w, inverseSqrt(e), e, kv);
      b.uniform(p + "attn_output.weight", w, inverseSqrt(e), e, e);
      b.norm(p + "ffn_norm.weight", e);
      b.uniform(p + "ffn_gate.weight", w, inverseSqrt(e), e, ff);
      b.uniform(p + "ffn_up.weight", w, inverseSqrt(e), e, ff);
      b.uniform(p + "ffn_down.weight", w, inverseSqrt(ff), ff, e);
    }
    b.norm("output_norm.weight", e);
    b.uniform("output.weight", w, 3f * inverseSqrt(e), e, vocabularySize);
    return out;
  }

  private static float inverseSqrt(long n) {
    return (float) (1.0 / Math.sqrt(n)); // sqrt is correctly rounded in Java: portable
  }

  private static final class Builder {
    private static final float SQRT3 = (float) Math.sqrt(3.0);
    private final long seed;
    private final List<Tensor> out;

    Builder(long seed, List<Tensor> out) {
      this.seed = seed;
      this.out = out;
    }

    void uniform(String name, GgmlType type, float sd, long... dims) {
      out.add(new Tensor(name, type, dims, 0f, sd * SQRT3, SplitMix64.derive(seed, out.size())));
    }

    void norm(String name, long n) {
      out.add(new Tensor(name, GgmlType.F32, new long[] {n}, 1f, 0.2f, SplitMix64.derive(seed, out.size())));
    }
  }
}
