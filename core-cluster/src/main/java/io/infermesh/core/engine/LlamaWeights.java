package io.infermesh.core.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
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

  private LlamaWeights(NDManager manager, NDArray embedding, List<Layer> layers, NDArray norm, NDArray head) {
    this.manager = manager;
    this.embedding = embedding;
    this.layers = List.copyOf(layers);
    this.norm = norm;
    this.head = head;
  }

  static LlamaWeights load(LlamaConfig c, LayerRange range, TensorSource src, NDManager manager) throws IOException {
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
            keep(wqkv, manager),
            keep(tensor(load, src, Names.o(l), dim, c.qDim()), manager),
            keep(w13, manager),
            keep(tensor(load, src, Names.down(l), dim, c.ffnDim()), manager)));
      }
    }
    NDArray norm = null;
    NDArray head = null;
    if (range.isLast()) {
      norm = tensor(manager, src, Names.NORM, dim);
      boolean tied = c.tiedEmbeddings() || !src.contains(Names.LM_HEAD);
      if (tied && embedding != null) {
        head = embedding.transpose(); // one copy of the shared matrix
      } else {
        head = keep(tensor(manager, src, tied ? Names.EMBED : Names.LM_HEAD, c.vocabSize(), dim), manager);
      }
    }
    return new LlamaWeights(manager, embedding, layers, norm, head);
  }

  /** The transposed view of {@code w} {@code [out, in]}, both now owned by {@code manager}. */
  private static NDArray keep(NDArray w, NDManager manager) {
    w.attach(manager);
    return w.transpose();
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
