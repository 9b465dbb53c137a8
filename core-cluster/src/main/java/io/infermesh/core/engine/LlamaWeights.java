package io.infermesh.core.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.infermesh.core.engine.TensorSource.Names;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

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
 * are stored in half precision (the folding above happens in float32 first); the embedding, the
 * final norm and everything the step computes stay float32, so only {@link #linear} knows.
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
  private final WeightPrecision precision;

  private LlamaWeights(NDManager manager, NDArray embedding, List<Layer> layers, NDArray norm, NDArray head,
      WeightPrecision precision) {
    this.manager = manager;
    this.precision = precision;
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
            keep(wqkv, manager, precision),
            keep(tensor(load, src, Names.o(l), dim, c.qDim()), manager, precision),
            keep(w13, manager, precision),
            keep(tensor(load, src, Names.down(l), dim, c.ffnDim()), manager, precision)));
      }
    }
    NDArray norm = null;
    NDArray head = null;
    if (range.isLast()) {
      norm = tensor(manager, src, Names.NORM, dim);
      boolean tied = c.tiedEmbeddings() || !src.contains(Names.LM_HEAD);
      if (tied && embedding != null && precision == WeightPrecision.FLOAT32) {
        head = embedding.transpose(); // one copy of the shared matrix
      } else if (tied && embedding != null) {
        head = keep(embedding, manager, precision); // a half copy beside the float32 rows the embedding gathers
      } else {
        try (NDManager load = manager.newSubManager()) {
          head = keep(tensor(load, src, tied ? Names.EMBED : Names.LM_HEAD, c.vocabSize(), dim), manager, precision);
        }
      }
    }
    return new LlamaWeights(manager, embedding, layers, norm, head, precision);
  }

  /**
   * The transposed view of {@code w} {@code [out, in]} in {@code precision}, owned by
   * {@code manager}; a float32 {@code w} is kept as it is, another precision is a converted copy
   * ({@code w} itself then goes with whichever manager held it).
   */
  private static NDArray keep(NDArray w, NDManager manager, WeightPrecision precision) {
    NDArray stored = precision == WeightPrecision.FLOAT32 ? w : w.toType(precision.dataType(), true);
    stored.attach(manager);
    return stored.transpose();
  }

  /**
   * {@code x @ w} for a float32 {@code x} and a weight of this model, float32 out: with half
   * weights the input is cast down for the matmul and the result back up (accumulation inside
   * the matmul is PyTorch's, float32 on CPU).
   */
  NDArray linear(NDArray x, NDArray w) {
    if (precision == WeightPrecision.FLOAT32) {
      return x.matMul(w);
    }
    return x.toType(precision.dataType(), false).matMul(w).toType(DataType.FLOAT32, false);
  }

  WeightPrecision precision() {
    return precision;
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
    manager.close();
  }
}
