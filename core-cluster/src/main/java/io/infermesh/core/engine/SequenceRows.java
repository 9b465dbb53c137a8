package io.infermesh.core.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Arrays;

/**
 * The keys and values of the running batch laid out for attention, kept across steps: batch row
 * {@code i} holds, per layer, a contiguous copy of sequence {@code i}'s rows of the paged
 * {@link KvCache}, head-major {@code (rows, KV, length, hd)}. Attention then reads {@code (S, KV,
 * L, hd)} as a view, where gathering the paged rows would copy the whole {@code (S, L, KV * hd)}
 * cache of every layer at every step (and the attention matmuls would copy it again into their
 * batched layout). A step writes only what a row does not hold yet: in steady decoding, the new
 * tokens; after the batch changed (a sequence left, joined or moved), the rows of that sequence are
 * refilled from the paged cache once.
 *
 * <p>The paged cache stays the truth (prefix sharing, forks, preemption, later pipeline stages
 * read it); a row is a copy that is trusted position by position only while its slot is the one the
 * sequence reads at that position <em>and</em> the slot was not written after the copy was made,
 * so a reused or rewritten slot is always copied again.
 *
 * <p>Memory is bounded by the paged cache: {@code rows × length} never exceeds its slots; a step
 * whose batch would not fit returns no layout and attention gathers the paged rows instead.
 * Confined to the engine's step thread.
 */
final class SequenceRows implements AutoCloseable {
  private static final int ROW_QUANTUM = 4;
  private static final int LENGTH_QUANTUM = 64;

  private final NDManager parent;
  private final int layers;
  private final int kvHeads;
  private final int headDim;
  private final long maxCells; // rows * length at most: the paged cache's slots
  private final long[] slotWrittenAt; // per paged slot, the step that last wrote it (0: never)
  private NDManager manager; // owns the row tensors; replaced when they grow
  private NDArray[] keys; // per layer (rows, KV, length, hd)
  private NDArray[] values; // per layer (rows, KV, length, hd)
  private NDArray[] keyCells; // per layer the same storage as (rows * KV * length, hd), for writes
  private NDArray[] valueCells;
  private int rows;
  private int length;
  private long[][] heldSlots = new long[0][]; // per row, the slot each position was copied from
  private long[][] heldAt = new long[0][]; // per row, the step each position was copied at
  private int[] heldLength = new int[0];
  private long step;

  SequenceRows(NDManager parent, int layers, int slots, int kvHeads, int headDim) {
    this.parent = parent;
    this.layers = layers;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.maxCells = slots;
    this.slotWrittenAt = new long[slots];
  }

  /**
   * Plans one step: which cells of the rows receive this step's new keys and values, and which
   * must first be refilled from the paged cache. Every step must be planned here, in order, even
   * one that falls back to gathering (the written slots are recorded).
   *
   * @return null when the batch does not fit the memory bound; attention then gathers
   */
  Layout plan(ForwardBatch b, NDManager stepManager) {
    step++;
    int s = b.sequenceCount();
    int l = 0;
    for (long[] read : b.readSlots()) {
      l = Math.max(l, read.length);
    }
    boolean fits = fit(s, l);
    long[] newCells = fits ? new long[b.tokenCount() * kvHeads] : null;
    long[] refillSlots = new long[0];
    long[] refillCells = new long[0];
    int refills = 0;
    for (int i = 0; fits && i < s; i++) {
      long[] read = b.readSlots()[i];
      int firstNew = b.positions()[b.offsets()[i]];
      int valid = 0;
      int limit = Math.min(Math.min(heldLength[i], read.length), firstNew);
      while (valid < limit && heldSlots[i][valid] == read[valid] && slotWrittenAt[(int) read[valid]] <= heldAt[i][valid]) {
        valid++;
      }
      int missing = firstNew - valid;
      if (refills + missing > refillSlots.length) {
        int grown = Math.max(refills + missing, refillSlots.length * 2);
        refillSlots = Arrays.copyOf(refillSlots, grown);
        refillCells = Arrays.copyOf(refillCells, grown * kvHeads);
      }
      for (int p = valid; p < firstNew; p++, refills++) {
        refillSlots[refills] = read[p];
        cells(refillCells, refills, i, p);
      }
      for (int t = b.offsets()[i]; t < b.offsets()[i + 1]; t++) {
        cells(newCells, t, i, b.positions()[t]);
      }
      System.arraycopy(read, 0, heldSlots[i], 0, read.length);
      Arrays.fill(heldAt[i], valid, read.length, step);
      heldLength[i] = read.length;
    }
    for (long slot : b.writeSlots()) {
      slotWrittenAt[(int) slot] = step;
    }
    if (!fits) {
      return null;
    }
    for (int i = s; i < rows; i++) {
      heldLength[i] = 0; // not in this batch: cheaper to refill if it comes back than to track
    }
    NDArray refill = refills == 0 ? null : stepManager.create(Arrays.copyOf(refillSlots, refills));
    NDIndex refillAt = refills == 0 ? null
        : new NDIndex("{}", stepManager.create(Arrays.copyOf(refillCells, refills * kvHeads), new Shape(refills, kvHeads)));
    NDIndex newAt = new NDIndex("{}", stepManager.create(newCells, new Shape(b.tokenCount(), kvHeads)));
    return new Layout(stepManager, s, l, newAt, refill, refillAt);
  }

  /** The cells {@code (row, h, position)} of every KV head {@code h}, into {@code out[k * KV ..]}. */
  private void cells(long[] out, int k, int row, int position) {
    for (int h = 0; h < kvHeads; h++) {
      out[k * kvHeads + h] = ((long) row * kvHeads + h) * length + position;
    }
  }

  /** Grows the rows to hold {@code s} sequences of up to {@code l} positions, within the bound; false if they cannot. */
  private boolean fit(int s, int l) {
    if (s <= rows && l <= length) {
      return true;
    }
    int newRows = roundUp(Math.max(s, rows), ROW_QUANTUM);
    int newLength = roundUp(Math.max(l, length + length / 2), LENGTH_QUANTUM);
    if ((long) newRows * newLength > maxCells) {
      newLength = roundUp(Math.max(l, length), LENGTH_QUANTUM);
      if ((long) newRows * newLength > maxCells) {
        return false;
      }
    }
    allocate(newRows, newLength);
    return true;
  }

  private void allocate(int newRows, int newLength) {
    NDManager next = parent.newSubManager();
    NDArray[] k = new NDArray[layers];
    NDArray[] v = new NDArray[layers];
    NDArray[] kc = new NDArray[layers];
    NDArray[] vc = new NDArray[layers];
    Shape shape = new Shape(newRows, kvHeads, newLength, headDim);
    for (int layer = 0; layer < layers; layer++) {
      k[layer] = next.zeros(shape);
      v[layer] = next.zeros(shape);
      kc[layer] = k[layer].reshape((long) newRows * kvHeads * newLength, headDim); // views: writes show in k, v
      vc[layer] = v[layer].reshape((long) newRows * kvHeads * newLength, headDim);
    }
    if (manager != null) {
      manager.close();
    }
    manager = next;
    keys = k;
    values = v;
    keyCells = kc;
    valueCells = vc;
    rows = newRows;
    length = newLength;
    heldSlots = new long[newRows][newLength];
    heldAt = new long[newRows][newLength];
    heldLength = new int[newRows]; // nothing held: every row is refilled once
  }

  private static int roundUp(int value, int quantum) {
    return (value + quantum - 1) / quantum * quantum;
  }

  @Override
  public void close() {
    if (manager != null) {
      manager.close();
    }
  }

  /** One step's use of the rows, shared by all layers. */
  final class Layout {
    private final PtNDManager stepManager; // owns the per-step views
    private final long[] view; // {S, KV, L, hd}: the slice attention reads
    private final NDIndex newAt; // (N, KV) cells of the new tokens
    private final NDArray refillSlots; // (M) paged slots to copy in first; null when none
    private final NDIndex refillAt; // (M, KV) their cells

    private Layout(NDManager stepManager, int s, int l, NDIndex newAt, NDArray refillSlots, NDIndex refillAt) {
      this.stepManager = (PtNDManager) stepManager;
      this.view = new long[] {s, kvHeads, l, headDim};
      this.newAt = newAt;
      this.refillSlots = refillSlots;
      this.refillAt = refillAt;
    }

    /**
     * Brings layer {@code layer}'s rows up to date, after the paged cache received this step's
     * keys and values: refills what the rows miss from {@code kv}, then writes {@code k} and
     * {@code v}, both {@code (N, KV, hd)}.
     */
    void write(int layer, KvCache kv, NDArray k, NDArray v) {
      if (refillSlots != null) {
        keyCells[layer].set(refillAt, Torch.rows(refillSlots, kv.keyRows(layer)).reshape(-1, kvHeads, headDim));
        valueCells[layer].set(refillAt, Torch.rows(refillSlots, kv.values(layer)).reshape(-1, kvHeads, headDim));
      }
      keyCells[layer].set(newAt, k);
      valueCells[layer].set(newAt, v);
    }

    /** Layer {@code layer}'s keys of the batch, {@code (S, KV, L, hd)}: a view. */
    NDArray keys(int layer) {
      return slice(keys[layer]);
    }

    /** Layer {@code layer}'s values of the batch, {@code (S, KV, L, hd)}: a view. */
    NDArray values(int layer) {
      return slice(values[layer]);
    }

    private NDArray slice(NDArray rowsOfLayer) {
      return JniUtils.index((PtNDArray) rowsOfLayer, new long[4], view, new long[] {1, 1, 1, 1}, stepManager);
    }
  }
}
