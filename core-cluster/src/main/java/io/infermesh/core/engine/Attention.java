package io.infermesh.core.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * The per-step layout of batched causal attention. The flat tokens of {@code S} sequences are
 * padded to {@code (S, T)} queries ({@code T} = most new tokens of any sequence) against
 * {@code (S, L)} cached keys ({@code L} = longest sequence so far); an additive mask hides keys in
 * the future of each query and keys past the end of shorter sequences. Built once per step and
 * shared by all layers.
 *
 * <p>Keys and values are read from the batch's {@link SequenceRows} as a view when they fit there,
 * else gathered from the paged {@link KvCache} by slot.
 *
 * <p>Steps where every sequence has one new token (decodes, {@code T = 1}) skip the padding
 * gathers (the layout is already {@code (S, 1)}), and the mask when all sequences have the same
 * length: every call saved is saved once per layer.
 */
final class Attention {
  private final int s;
  private final int t;
  private final int l;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final NDIndex writeIndex; // (N) slots
  private final NDArray readSlots; // (S, L) slots
  private final NDArray padRows; // (S, T) -> flat token; null when T == 1
  private final NDArray unpadRows; // (N) -> padded row s * T + j; null when T == 1
  private final NDArray lastTokens; // (S) flat index of each sequence's last token; null when T == 1
  private final NDArray mask; // (S, 1, 1, T, L), or (S, 1, 1, L) when T == 1; null when nothing is hidden
  private final SequenceRows.Layout rows; // null: gather readSlots from the paged cache

  private Attention(LlamaConfig c, int s, int t, int l, NDIndex write, NDArray read, NDArray pad, NDArray unpad,
      NDArray last, NDArray mask, SequenceRows.Layout rows) {
    this.s = s;
    this.t = t;
    this.l = l;
    this.heads = c.heads();
    this.kvHeads = c.kvHeads();
    this.headDim = c.headDim();
    this.writeIndex = write;
    this.readSlots = read;
    this.padRows = pad;
    this.unpadRows = unpad;
    this.lastTokens = last;
    this.mask = mask;
    this.rows = rows;
  }

  static Attention plan(ForwardBatch b, LlamaConfig c, NDManager step, SequenceRows sequenceRows) {
    SequenceRows.Layout rows = sequenceRows.plan(b, step);
    int s = b.sequenceCount();
    int n = b.tokenCount();
    int t = 0;
    int l = 0;
    boolean ragged = false;
    for (int i = 0; i < s; i++) {
      t = Math.max(t, b.newTokens(i));
      int len = b.readSlots()[i].length;
      ragged |= i > 0 && len != l;
      l = Math.max(l, len);
    }
    long[] read = new long[s * l];
    for (int i = 0; i < s; i++) {
      long[] slots = b.readSlots()[i];
      System.arraycopy(slots, 0, read, i * l, slots.length);
      for (int k = slots.length; k < l; k++) {
        read[i * l + k] = slots[0]; // padding: any valid row, masked out below
      }
    }
    NDIndex write = new NDIndex("{}", step.create(b.writeSlots()));
    NDArray readSlots = rows != null ? null : step.create(read, new Shape(s, l));
    if (t == 1) {
      NDArray mask = null;
      if (ragged) {
        float[] m = new float[s * l];
        for (int i = 0; i < s; i++) {
          int visible = b.positions()[i]; // the one query sees positions 0..visible
          for (int k = visible + 1; k < l; k++) {
            m[i * l + k] = Float.NEGATIVE_INFINITY;
          }
        }
        mask = step.create(m, new Shape(s, 1, 1, l));
      }
      return new Attention(c, s, 1, l, write, readSlots, null, null, null, mask, rows);
    }
    long[] pad = new long[s * t];
    long[] unpad = new long[n];
    long[] last = new long[s];
    float[] mask = new float[s * t * l];
    for (int i = 0; i < s; i++) {
      int from = b.offsets()[i];
      int count = b.newTokens(i);
      int firstPos = b.positions()[from];
      last[i] = from + count - 1;
      for (int j = 0; j < t; j++) {
        boolean real = j < count;
        pad[i * t + j] = real ? from + j : from;
        if (real) {
          unpad[from + j] = (long) i * t + j;
        }
        int visible = real ? firstPos + j : 0; // last key position this query may see
        int row = (i * t + j) * l;
        for (int k = visible + 1; k < l; k++) {
          mask[row + k] = Float.NEGATIVE_INFINITY;
        }
      }
    }
    return new Attention(c, s, t, l, write, readSlots,
        step.create(pad, new Shape(s, t)),
        step.create(unpad),
        step.create(last),
        step.create(mask, new Shape(s, 1, 1, t, l)), rows);
  }

  /** The flat index of each sequence's last new token, or null when every row is one (T == 1). */
  NDArray lastTokens() {
    return lastTokens;
  }

  /**
   * Writes this step's keys and values of layer {@code layer} to the paged cache (and the batch's
   * rows), then returns {@code softmax(Q K^T + mask) V} with {@code G = heads / kvHeads} query
   * heads per KV head (the {@code 1/sqrt(hd)} scale is already in Q).
   *
   * @param q (N, H, hd) rotated, scaled queries
   * @param k (N, KV, hd) rotated keys of the new tokens
   * @param v (N, KV * hd) values of the new tokens
   * @return (N, H * hd)
   */
  NDArray attend(int layer, KvCache kv, NDArray q, NDArray k, NDArray v) {
    kv.keys(layer).set(writeIndex, k);
    kv.values(layer).set(writeIndex, v);
    NDArray kt;
    NDArray vt;
    if (rows != null) {
      rows.write(layer, kv, k, v.reshape(-1, kvHeads, headDim));
      kt = rows.keys(layer).transpose(0, 1, 3, 2); // (S, KV, hd, L): views of the rows, nothing copied
      vt = rows.values(layer); // (S, KV, L, hd)
    } else {
      NDArray keys = Torch.rows(readSlots, kv.keyRows(layer)); // (S, L, KV * hd)
      NDArray values = Torch.rows(readSlots, kv.values(layer)); // (S, L, KV * hd)
      kt = keys.reshape(s, l, kvHeads, headDim).transpose(0, 2, 3, 1); // (S, KV, hd, L)
      vt = values.reshape(s, l, kvHeads, headDim).transpose(0, 2, 1, 3); // (S, KV, L, hd)
    }
    return attend(q, kt, vt);
  }

  /** {@code softmax(Q K^T + mask) V}: {@code q} (N, H, hd), {@code kt} (S, KV, hd, L), {@code vt} (S, KV, L, hd). */
  private NDArray attend(NDArray q, NDArray kt, NDArray vt) {
    int g = heads / kvHeads;
    if (t == 1) {
      NDArray scores = q.reshape(s, kvHeads, g, headDim).matMul(kt); // (S, KV, G, L)
      if (mask != null) {
        scores.addi(mask);
      }
      return scores.softmax(-1).matMul(vt).reshape(s, heads * headDim); // (S, KV, G, hd) -> (N, H * hd)
    }
    NDArray qp = Torch.rows(padRows, q.reshape(q.getShape().get(0), heads * headDim)) // (S, T, H * hd)
        .reshape(s, t, kvHeads, g, headDim)
        .transpose(0, 2, 3, 1, 4) // (S, KV, G, T, hd)
        .reshape(s, kvHeads, g * t, headDim);
    NDArray scores = qp.matMul(kt) // (S, KV, G*T, L)
        .reshape(s, kvHeads, g, t, l)
        .addi(mask)
        .softmax(-1)
        .reshape(s, kvHeads, g * t, l);
    NDArray out = scores.matMul(vt) // (S, KV, G*T, hd)
        .reshape(s, kvHeads, g, t, headDim)
        .transpose(0, 3, 1, 2, 4) // (S, T, KV, G, hd)
        .reshape(s * t, heads * headDim);
    return Torch.rows(unpadRows, out); // (N, H * hd)
  }
}
