package io.infermesh.core.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Direct PyTorch calls for the few operations whose generic DJL form costs several times more per
 * call (measured at batch 1, where per-call overhead is most of a step): advanced indexing
 * ({@code get(NDIndex)}, ~25 µs) becomes one {@code embedding} call (~5 µs), {@code split} becomes
 * {@code slice} views. Results belong to the manager of the first argument. Stateless.
 */
final class Torch {
  private Torch() {}

  /** Rows {@code table[index]}: {@code index} (any shape, int64) → {@code index.shape + (cols)}; {@code table} 2-D. */
  static NDArray rows(NDArray index, NDArray table) {
    return JniUtils.embedding((PtNDArray) index, (PtNDArray) table, false);
  }

  /** The view {@code a[..., from:to, ...]} along {@code axis}. */
  static NDArray slice(NDArray a, int axis, long from, long to) {
    return JniUtils.slice((PtNDArray) a, axis, from, to, 1);
  }
}
