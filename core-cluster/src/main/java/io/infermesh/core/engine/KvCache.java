package io.infermesh.core.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Key and value storage for every sequence, preallocated once: per layer one pool of
 * {@code slots = blocks * blockSize} rows. Which rows belong to which sequence is decided outside
 * (the scheduler's block tables); the engine only writes and gathers rows by slot number.
 *
 * <p>Confined to the engine's step thread.
 */
final class KvCache implements AutoCloseable {
  private final NDManager manager;
  private final NDArray[] keys; // per layer (slots, kvHeads, headDim)
  private final NDArray[] keyRows; // per layer the same storage as (slots, kvHeads * headDim), for gathers
  private final NDArray[] values; // per layer (slots, kvHeads * headDim)
  private final int slots;
  private final SequenceRows sequenceRows;

  KvCache(NDManager parent, int layers, int slots, int kvHeads, int headDim) {
    if (slots <= 0) {
      throw new IllegalArgumentException("kv cache needs at least one slot, got " + slots);
    }
    this.manager = parent.newSubManager();
    this.slots = slots;
    this.keys = new NDArray[layers];
    this.keyRows = new NDArray[layers];
    this.values = new NDArray[layers];
    for (int l = 0; l < layers; l++) {
      keys[l] = manager.zeros(new Shape(slots, kvHeads, headDim));
      keyRows[l] = keys[l].reshape(slots, (long) kvHeads * headDim); // a view: writes to keys[l] show here
      values[l] = manager.zeros(new Shape(slots, (long) kvHeads * headDim));
    }
    this.sequenceRows = new SequenceRows(manager, layers, slots, kvHeads, headDim);
  }

  /** The running batch's contiguous copies of these rows, which attention reads. */
  SequenceRows sequenceRows() {
    return sequenceRows;
  }

  int slots() {
    return slots;
  }

  /** Keys as {@code (slots, kvHeads, headDim)}, to write rows of rotated heads. */
  NDArray keys(int layerInRange) {
    return keys[layerInRange];
  }

  /** The same keys as {@code (slots, kvHeads * headDim)}, to gather rows. */
  NDArray keyRows(int layerInRange) {
    return keyRows[layerInRange];
  }

  /** Values as {@code (slots, kvHeads * headDim)}. */
  NDArray values(int layerInRange) {
    return values[layerInRange];
  }

  @Override
  public void close() {
    sequenceRows.close();
    manager.close();
  }
}
