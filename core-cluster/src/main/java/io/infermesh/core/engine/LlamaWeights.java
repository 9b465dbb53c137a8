package io.infermesh.core.engine;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.infermesh.core.engine.TensorSource.Names;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of the layers one engine holds, as NDArrays on its device, rearranged at load so a
 * step needs as few calls as possible (each costs microseconds of fixed overhead, which dominates
 * small models):
 *
 * <ul>
 *   <li>Q, K and V are one matrix, gate and up another: one matmul each instead of three and two.
 *   <li>The RMSNorm weight before each of them is folded into its input rows:
 *       {@code (x̂ ⊙ w) W = x̂ (diag(w) W)}.
 *   <li>The attention scale {@code 1/sqrt(headDim)} is folded into the Q columns (RoPE is linear,
 *       so scaling before or after it is the same).
 * </ul>
 *
 * Linear weights keep the Hugging Face {@code [out, in]} storage and are used through transposed
 * views, so {@code x @ W^T} is one BLAS call without a copy.
 *
 * <p>With {@link WeightPrecision#FLOAT16} the four linear matrices of each layer and the LM head
 * are stored in half precision (the folding above happens in float32 first); with
 * {@link WeightPrecision#FLOAT16_DECODE} they stay float32 and a half copy of each sits beside
 * them. The embedding, the final norm and everything a step computes stay float32: only
 * {@link #linear} knows.
 *
 * <p>Immutable after loading; closed with the manager that owns it.
 */
final class LlamaWeights implements AutoCloseable {

  /** One decoder block. */
  record Layer(
      NDArray wqkv, // (dim, qDim + 2 kvDim): attn norm folded into rows, q columns scaled by 1/sqrt(hd)
      NDArray wo, // (qDim, dim)
      NDArray w13, // (dim, 2 ffnDim): gate then up, ffn norm folded into rows
      NDArray w2) {} // (ffnDim, dim)

  private final NDManager manager;
  private final NDArray embedding; // (vocab, dim), null unless first stage
  private final List<Layer> layers;
  private final NDArray norm; // (dim), null unless last stage
  private final NDArray head; // (dim, vocab), null unless last stage
  /**
   * Steps of at most this many tokens use the half copies under {@link WeightPrecision#FLOAT16_DECODE}:
   * PyTorch's half matrix-vector kernel beats float32 up to about 4 rows on AVX-512, its half GEMM
   * loses 2–4× beyond 8 (README, "Weight precision").
   */
  static final int HALF_ROWS = 4;

  private final WeightPrecision precision;
  // float32 weight view → its half copy (FLOAT16_DECODE only); keyed by identity so Layer stays as
  // it is. Filled during load, read-only after: safe for embed() on another thread.
  private final Map<NDArray, NDArray> halves;
  private final ParallelGemv gemv; // every product above, split across the engine's threads

  private LlamaWeights(NDManager manager, NDArray embedding, List<Layer> layers, NDArray norm, NDArray head,
      WeightPrecision precision, Map<NDArray, NDArray> halves) {
    this.manager = manager;
    List<NDArray> linear = new ArrayList<>(linearWeights(layers, head));
    linear.addAll(halves.values());
    this.gemv = ParallelGemv.of(gemvParts(manager.getDevice()), linear);
    this.precision = precision;
    this.halves = Collections.unmodifiableMap(halves);
    this.embedding = embedding;
    this.layers = List.copyOf(layers);
    this.norm = norm;
    this.head = head;
  }

  static LlamaWeights load(LlamaConfig c, LayerRange range, TensorSource src, NDManager manager,
      WeightPrecision precision) throws IOException {
    int dim = c.dim();
    NDArray embedding = null;
    if (range.isFirst()) {
      embedding = tensor(manager, src, Names.EMBED, c.vocabSize(), dim);
    }
    float scale = (float) (1.0 / Math.sqrt(c.headDim()));
    Map<NDArray, NDArray> halves = new IdentityHashMap<>();
    List<Layer> layers = new ArrayList<>();
    for (int l = range.from(); l < range.to(); l++) {
      try (NDManager load = manager.newSubManager()) {
        NDArray attnNorm = tensor(load, src, Names.attnNorm(l), 1, dim);
        NDArray wq = tensor(load, src, Names.q(l), c.qDim(), dim).muli(scale);
        NDArray wk = tensor(load, src, Names.k(l), c.kvDim(), dim);
        NDArray wv = tensor(load, src, Names.v(l), c.kvDim(), dim);
        NDArray wqkv = NDArrays.concat(new NDList(wq, wk, wv), 0).muli(attnNorm); // (qDim + 2 kvDim, dim)
        NDArray ffnNorm = tensor(load, src, Names.ffnNorm(l), 1, dim);
        NDArray gate = tensor(load, src, Names.gate(l), c.ffnDim(), dim);
        NDArray up = tensor(load, src, Names.up(l), c.ffnDim(), dim);
        NDArray w13 = NDArrays.concat(new NDList(gate, up), 0).muli(ffnNorm); // (2 ffn, dim)
        layers.add(new Layer(
            keep(wqkv, manager, precision, halves),
            keep(tensor(load, src, Names.o(l), dim, c.qDim()), manager, precision, halves),
            keep(w13, manager, precision, halves),
            keep(tensor(load, src, Names.down(l), dim, c.ffnDim()), manager, precision, halves)));
      }
    }
    NDArray norm = null;
    NDArray head = null;
    if (range.isLast()) {
      norm = tensor(manager, src, Names.NORM, dim);
      boolean tied = c.tiedEmbeddings() || !src.contains(Names.LM_HEAD);
      if (tied && embedding != null) {
        head = keep(embedding, manager, precision, halves); // float32: a view of the shared matrix, no copy
      } else {
        try (NDManager load = manager.newSubManager()) {
          head = keep(tensor(load, src, tied ? Names.EMBED : Names.LM_HEAD, c.vocabSize(), dim), manager, precision,
              halves);
        }
      }
    }
    return new LlamaWeights(manager, embedding, layers, norm, head, precision, halves);
  }

  /**
   * The transposed view of {@code w} {@code [out, in]} as {@code precision} stores it, owned by
   * {@code manager}: {@code w} itself for float32 (and, for FLOAT16_DECODE, its half copy recorded
   * in {@code halves}), or only a half copy for FLOAT16 ({@code w} then goes with whichever
   * manager held it).
   */
  private static NDArray keep(NDArray w, NDManager manager, WeightPrecision precision,
      Map<NDArray, NDArray> halves) {
    NDArray half = precision == WeightPrecision.FLOAT32 ? null : w.toType(DataType.FLOAT16, true);
    if (half != null) {
      half.attach(manager);
      if (precision == WeightPrecision.FLOAT16) {
        return half.transpose();
      }
    }
    w.attach(manager);
    NDArray view = w.transpose();
    if (half != null) {
      halves.put(view, half.transpose());
    }
    return view;
  }

  /**
   * {@code x @ w} for a float32 {@code x} (rows, in) and a weight of this model, float32 out: when
   * the half weight is used the input is cast down for the matmul and the result back up (PyTorch
   * accumulates a half matmul in float32 on CPU).
   */
  NDArray linear(NDArray x, NDArray w) {
    NDArray half = switch (precision) {
      case FLOAT32 -> null;
      case FLOAT16 -> w;
      case FLOAT16_DECODE -> x.getShape().get(0) <= HALF_ROWS ? halves.get(w) : null;
    };
    if (half == null) {
      return gemv.matMul(x, w);
    }
    return gemv.matMul(x.toType(DataType.FLOAT16, false), half).toType(DataType.FLOAT32, false);
  }

  WeightPrecision precision() {
    return precision;
  }

  /** How many threads a product runs on: {@link DjlRuntime#computeThreads()} on a CPU, 1 on a GPU. */
  private static int gemvParts(Device device) {
    return device.isGpu() ? 1 : Math.min(DjlRuntime.computeThreads(), Runtime.getRuntime().availableProcessors());
  }

  private static List<NDArray> linearWeights(List<Layer> layers, NDArray head) {
    List<NDArray> all = new ArrayList<>();
    for (Layer l : layers) {
      all.addAll(List.of(l.wqkv(), l.wo(), l.w13(), l.w2()));
    }
    if (head != null) {
      all.add(head);
    }
    return all;
  }

  /** How many threads a product is split across (1: not split). */
  int gemvParts() {
    return gemv.parts();
  }

  private static NDArray tensor(NDManager manager, TensorSource src, String name, long... shape) throws IOException {
    long[] stored = shape.length == 2 && shape[0] == 1 ? new long[] {shape[1]} : shape;
    float[] data = src.read(name, stored);
    return manager.create(data, new Shape(shape));
  }

  NDManager manager() {
    return manager;
  }

  NDArray embedding() {
    return embedding;
  }

  Layer layer(int indexInRange) {
    return layers.get(indexInRange);
  }

  NDArray norm() {
    return norm;
  }

  NDArray head() {
    return head;
  }

  @Override
  public void close() {
    gemv.close();
    manager.close();
  }
}
