package io.infermesh.core.engine;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.util.Arrays;

/**
 * A Llama-family decoder (or a contiguous slice of its layers) on DJL NDArrays: token embedding,
 * then per block {@code x += Attn(RMSNorm(x))}, {@code x += SwiGLU(RMSNorm(x))}, then the final
 * RMSNorm and LM head. Attention is grouped-query with rotary positions (Hugging Face "halves"
 * layout) over a KV cache addressed by slot, so one step can mix prefill chunks and decodes of
 * many sequences.
 *
 * <p>Not thread-safe: every call runs on the caller's thread and mutates the KV cache; drive it
 * from one thread (the batch loop).
 */
public final class LlamaModel implements AutoCloseable {
  private final LlamaConfig config;
  private final LayerRange range;
  private final LlamaWeights weights;
  private final KvCache kv;
  private final NDArray ropeCos; // (ctx, headDim): cos(p θ_i) for both halves of a head
  private final NDArray ropeSin; // (ctx, headDim)
  private final NDArray rotateHalf; // (headDim, headDim): y @ R = [-y2, y1]
  private final NDArray eps; // () the RMSNorm epsilon, as an array: in-place ops with a Java number cost ~10x more
  private final NDArray meanColumn; // (dim, 1) of 1/dim: a mean as a matmul costs half of mean()
  private final Device device;

  private LlamaModel(LlamaConfig config, LayerRange range, LlamaWeights weights, KvCache kv, Device device) {
    this.config = config;
    this.range = range;
    this.weights = weights;
    this.kv = kv;
    this.device = device;
    NDManager m = weights.manager();
    int hd = config.headDim();
    int half = hd / 2;
    double[] inv = config.ropeInverseFrequencies();
    float[] cos = new float[config.contextLength() * hd];
    float[] sin = new float[cos.length];
    for (int p = 0; p < config.contextLength(); p++) {
      for (int i = 0; i < half; i++) {
        double angle = p * inv[i];
        cos[p * hd + i] = cos[p * hd + half + i] = (float) Math.cos(angle);
        sin[p * hd + i] = sin[p * hd + half + i] = (float) Math.sin(angle);
      }
    }
    this.ropeCos = m.create(cos, new Shape(config.contextLength(), hd));
    this.ropeSin = m.create(sin, new Shape(config.contextLength(), hd));
    float[] r = new float[hd * hd];
    for (int j = 0; j < half; j++) {
      r[(j + half) * hd + j] = -1f; // (y R)[j] = -y[j + hd/2]
      r[j * hd + j + half] = 1f; // (y R)[j + hd/2] = y[j]
    }
    this.rotateHalf = m.create(r, new Shape(hd, hd));
    this.eps = m.create(config.rmsNormEps());
    this.meanColumn = m.full(new Shape(config.dim(), 1), 1f / config.dim());
  }

  /**
   * Loads the layers in {@code range} onto {@code device} and allocates a KV cache of
   * {@code kvSlots} positions (shared by all sequences). The native work runs on a thread of its
   * own that has ended on return ({@link NativeLoadThread}: no OpenMP team is left on the caller).
   */
  public static LlamaModel load(LlamaConfig config, LayerRange range, TensorSource source, Device device, int kvSlots)
      throws IOException {
    return load(config, range, source, device, kvSlots, WeightPrecision.FLOAT32);
  }

  /** {@link #load(LlamaConfig, LayerRange, TensorSource, Device, int)} with the linear weights in {@code precision}. */
  public static LlamaModel load(LlamaConfig config, LayerRange range, TensorSource source, Device device, int kvSlots,
      WeightPrecision precision) throws IOException {
    return NativeLoadThread.call("infermesh-model-load", () -> loadHere(config, range, source, device, kvSlots,
        precision));
  }

  private static LlamaModel loadHere(LlamaConfig config, LayerRange range, TensorSource source, Device device,
      int kvSlots, WeightPrecision precision) throws IOException {
    if (range.total() != config.layers()) {
      throw new IllegalArgumentException("layer range " + range + " does not match " + config.layers() + " layers");
    }
    NDManager manager = DjlRuntime.newManager(device);
    try {
      LlamaWeights weights = LlamaWeights.load(config, range, source, manager, precision);
      KvCache kv = new KvCache(manager, range.size(), kvSlots, config.kvHeads(), config.headDim());
      return new LlamaModel(config, range, weights, kv, device);
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  public LlamaConfig config() {
    return config;
  }

  public LayerRange range() {
    return range;
  }

  public Device device() {
    return device;
  }

  public int kvSlots() {
    return kv.slots();
  }

  /** The number format of the linear weights. */
  public WeightPrecision precision() {
    return weights.precision();
  }

  /**
   * Runs the whole model on one batch and returns the last-position logits of every sequence,
   * {@code (S, vocab)}. Requires a model holding all layers.
   */
  public float[][] forward(ForwardBatch batch) {
    if (!range.isFirst() || !range.isLast()) {
      throw new IllegalStateException("forward(batch) needs every layer; this engine holds " + range);
    }
    float[] flat = step(batch, null);
    int s = batch.sequenceCount();
    int vocab = config.vocabSize();
    float[][] out = new float[s][];
    for (int i = 0; i < s; i++) {
      out[i] = Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
    }
    return out;
  }

  /**
   * Runs this engine's layers on one batch. The first stage reads {@code batch.tokens()} (and
   * {@code hiddenIn} must be null); later stages read {@code hiddenIn}, {@code (N, dim)} row-major.
   * The last stage returns logits {@code (S, vocab)}; other stages return hidden states
   * {@code (N, dim)}, both flattened row-major.
   */
  public float[] step(ForwardBatch batch, float[] hiddenIn) {
    return step(batch, hiddenIn, null);
  }

  /**
   * {@link #step(ForwardBatch, float[])}, with logits for the last {@code logitRows[s]} new tokens
   * of sequence {@code s} (at least one each; null for one each): the last stage returns
   * {@code (sum logitRows, vocab)}, sequence by sequence, each in position order. Scoring a draft
   * appended to a prompt needs the rows of every draft position in the same pass.
   */
  public float[] step(ForwardBatch batch, float[] hiddenIn, int[] logitRows) {
    if (logitRows != null && logitRows.length != batch.sequenceCount()) {
      throw new IllegalArgumentException("logitRows needs one entry per sequence, got " + logitRows.length);
    }
    int n = batch.tokenCount();
    int dim = config.dim();
    try (NDManager step = weights.manager().newSubManager()) {
      NDArray x;
      if (range.isFirst()) {
        if (hiddenIn != null || batch.tokens().length != n) {
          throw new IllegalArgumentException("the first stage takes token ids, not hidden states");
        }
        for (int t : batch.tokens()) {
          if (t < 0 || t >= config.vocabSize()) {
            throw new IllegalArgumentException("token id " + t + " outside the vocabulary of " + config.vocabSize());
          }
        }
        x = Torch.rows(step.create(toLong(batch.tokens())), weights.embedding()); // (N, dim)
      } else {
        if (hiddenIn == null || hiddenIn.length != n * dim) {
          throw new IllegalArgumentException("stage " + range + " needs hidden states of " + n + " x " + dim);
        }
        x = step.create(hiddenIn, new Shape(n, dim)); // (N, dim)
      }
      for (int p : batch.positions()) {
        if (p < 0 || p >= config.contextLength()) {
          throw new IllegalArgumentException("position " + p + " outside the context of " + config.contextLength());
        }
      }
      Attention attention = Attention.plan(batch, config, step, kv.sequenceRows());
      NDArray positions = step.create(toLong(batch.positions()));
      NDArray cos = Torch.rows(positions, ropeCos).reshape(n, 1, config.headDim()); // (N, 1, hd)
      NDArray sin = Torch.rows(positions, ropeSin).reshape(n, 1, config.headDim()); // (N, 1, hd)
      for (int l = 0; l < range.size(); l++) {
        block(l, x, attention, cos, sin);
      }
      if (!range.isLast()) {
        return x.toFloatArray();
      }
      NDArray last = logitRows != null ? Torch.rows(step.create(rowIndices(batch, logitRows)), x) // (R, dim)
          : attention.lastTokens() == null ? x : Torch.rows(attention.lastTokens(), x); // (S, dim)
      return weights.linear(rmsNorm(last).muli(weights.norm()), weights.head()).toFloatArray(); // (S or R, vocab)
    }
  }

  /**
   * The embedding of one token sequence: the mean over its positions of the final, normalized
   * hidden state, scaled to unit L2 length, {@code (dim)}. Attention is causal over the sequence
   * alone and never touches the KV cache, so this may run on another thread than {@link #step}
   * (the weights are only read). Requires a model holding all layers.
   */
  public float[] embed(int[] tokens) {
    if (!range.isFirst() || !range.isLast()) {
      throw new IllegalStateException("embed needs every layer; this engine holds " + range);
    }
    int n = tokens.length;
    if (n == 0 || n > config.contextLength()) {
      throw new IllegalArgumentException("embed takes 1 to " + config.contextLength() + " tokens, got " + n);
    }
    for (int t : tokens) {
      if (t < 0 || t >= config.vocabSize()) {
        throw new IllegalArgumentException("token id " + t + " outside the vocabulary of " + config.vocabSize());
      }
    }
    try (NDManager step = weights.manager().newSubManager()) {
      NDArray x = Torch.rows(step.create(toLong(tokens)), weights.embedding()); // (N, dim)
      long[] pos = new long[n];
      float[] future = new float[n * n];
      for (int i = 0; i < n; i++) {
        pos[i] = i;
        for (int k = i + 1; k < n; k++) {
          future[i * n + k] = Float.NEGATIVE_INFINITY;
        }
      }
      NDArray positions = step.create(pos);
      NDArray cos = Torch.rows(positions, ropeCos).reshape(n, 1, config.headDim()); // (N, 1, hd)
      NDArray sin = Torch.rows(positions, ropeSin).reshape(n, 1, config.headDim()); // (N, 1, hd)
      NDArray mask = step.create(future, new Shape(1, 1, n, n)); // (1, 1, N, N): -inf above the diagonal
      for (int l = 0; l < range.size(); l++) {
        selfContainedBlock(l, x, mask, cos, sin);
      }
      NDArray mean = rmsNorm(x).muli(weights.norm()).mean(new int[] {0}); // (dim)
      NDArray norm = mean.square().sum().sqrt().maximum(1e-12f);
      return mean.div(norm).toFloatArray();
    }
  }

  /**
   * {@link #block} for one sequence without the KV cache: {@code x} (N, dim) attends to itself
   * under the causal {@code mask}, {@code G = heads / kvHeads} query heads per KV head.
   */
  private void selfContainedBlock(int l, NDArray x, NDArray mask, NDArray cos, NDArray sin) {
    LlamaWeights.Layer w = weights.layer(l);
    int n = (int) x.getShape().get(0);
    int hd = config.headDim();
    int kvh = config.kvHeads();
    int g = config.heads() / kvh;
    int qkHeads = config.heads() + kvh;
    int qk = config.qDim() + config.kvDim();
    NDArray qkv = weights.linear(rmsNorm(x), w.wqkv()); // (N, qDim + 2 kvDim)
    NDArray heads = Torch.slice(qkv, 1, 0, qk).reshape(n, qkHeads, hd); // (N, H + KV, hd)
    NDArray rotated = heads.matMul(rotateHalf).muli(sin);
    heads.muli(cos).addi(rotated);
    NDArray q = Torch.slice(heads, 1, 0, config.heads()).reshape(n, kvh, g, hd).transpose(1, 2, 0, 3); // (KV, G, N, hd)
    NDArray kt = Torch.slice(heads, 1, config.heads(), qkHeads).transpose(1, 2, 0).reshape(kvh, 1, hd, n); // (KV, 1, hd, N)
    NDArray v = Torch.slice(qkv, 1, qk, qk + config.kvDim()).reshape(n, kvh, hd).transpose(1, 0, 2)
        .reshape(kvh, 1, n, hd); // (KV, 1, N, hd)
    NDArray o = q.matMul(kt).addi(mask).softmax(-1).matMul(v) // (KV, G, N, hd)
        .transpose(2, 0, 1, 3).reshape(n, config.heads() * hd); // (N, H * hd)
    x.addi(weights.linear(o, w.wo()));
    mlp(w, x);
  }

  /**
   * One decoder block, updating the residual stream {@code x} (N, dim) in place:
   * {@code x += Attn(norm(x))}, then {@code x += MLP(norm(x))}. Norm weights and the attention
   * scale live in the weights (see {@link LlamaWeights}).
   */
  private void block(int l, NDArray x, Attention att, NDArray cos, NDArray sin) {
    LlamaWeights.Layer w = weights.layer(l);
    int n = (int) x.getShape().get(0);
    int hd = config.headDim();
    int qkHeads = config.heads() + config.kvHeads();

    int qk = config.qDim() + config.kvDim();
    NDArray qkv = weights.linear(rmsNorm(x), w.wqkv()); // (N, qDim + 2 kvDim)
    NDArray heads = Torch.slice(qkv, 1, 0, qk).reshape(n, qkHeads, hd); // (N, H + KV, hd): q and k, RoPE'd together
    NDArray rotated = heads.matMul(rotateHalf).muli(sin); // rotate_half(x) sin, before x changes below
    heads.muli(cos).addi(rotated); // x cos + rotate_half(x) sin
    NDArray q = Torch.slice(heads, 1, 0, config.heads()); // (N, H, hd)
    NDArray k = Torch.slice(heads, 1, config.heads(), qkHeads); // (N, KV, hd)
    NDArray v = Torch.slice(qkv, 1, qk, qk + config.kvDim()); // (N, KV * hd)
    NDArray o = att.attend(l, kv, q, k, v); // (N, H * hd), after writing k and v to the cache
    x.addi(weights.linear(o, w.wo()));
    mlp(w, x);
  }

  /** {@code x += MLP(norm(x))} in place, {@code x} (N, dim). */
  private void mlp(LlamaWeights.Layer w, NDArray x) {
    NDArray gateUp = weights.linear(rmsNorm(x), w.w13()); // (N, 2 ffn)
    NDArray gate = Torch.slice(gateUp, 1, 0, config.ffnDim());
    NDArray act = gate.getNDArrayInternal().sigmoid().muli(gate) // silu(gate) * up
        .muli(Torch.slice(gateUp, 1, config.ffnDim(), 2L * config.ffnDim()));
    x.addi(weights.linear(act, w.w2()));
  }

  /** {@code x / sqrt(mean(x^2) + eps)} over the last axis (the weight is applied by the caller or folded). */
  private NDArray rmsNorm(NDArray x) {
    return x.div(x.square().matMul(meanColumn).addi(eps).sqrt()); // mean(x^2) as (N, dim) @ (dim, 1)
  }

  /** Flat indices of the last {@code rows[s]} new tokens of every sequence {@code s}, {@code (sum rows)}. */
  private static long[] rowIndices(ForwardBatch batch, int[] rows) {
    long[] out = new long[Arrays.stream(rows).sum()];
    int at = 0;
    for (int s = 0; s < rows.length; s++) {
      if (rows[s] < 1 || rows[s] > batch.newTokens(s)) {
        throw new IllegalArgumentException("sequence " + s + " has " + batch.newTokens(s) + " new tokens; cannot"
            + " return logits for " + rows[s]);
      }
      int end = batch.offsets()[s + 1];
      for (int r = rows[s]; r > 0; r--) {
        out[at++] = end - r;
      }
    }
    return out;
  }

  static long[] toLong(int[] values) {
    long[] out = new long[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = values[i];
    }
    return out;
  }

  @Override
  public void close() {
    kv.close();
    weights.close();
  }
}
