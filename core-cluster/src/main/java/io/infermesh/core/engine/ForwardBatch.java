package io.infermesh.core.engine;

import java.util.Arrays;

/**
 * One engine step over several sequences, flattened: {@code N} new tokens in total, sequence
 * {@code i} owning tokens {@code [offsets[i], offsets[i+1])}. Each new token has a position and the
 * KV slot it is written to; each sequence lists the slots of all its positions so far (the new
 * ones included), position order, which attention reads.
 *
 * <p>Logits are produced for the last new token of every sequence.
 *
 * @param tokens token ids, {@code (N)}; ignored by stages that take hidden states
 * @param positions absolute position of each new token, {@code (N)}
 * @param writeSlots KV slot of each new token, {@code (N)}
 * @param offsets sequence boundaries into the flat arrays, {@code (S + 1)}, {@code offsets[0] == 0}
 * @param readSlots per sequence, the KV slots of positions {@code 0 .. last}, {@code (S)(len_i)}
 */
public record ForwardBatch(int[] tokens, int[] positions, long[] writeSlots, int[] offsets, long[][] readSlots) {

  public ForwardBatch {
    int n = positions.length;
    if (writeSlots.length != n || (tokens.length != n && tokens.length != 0)) {
      throw new IllegalArgumentException("tokens, positions and writeSlots must have one entry per token");
    }
    if (offsets.length < 2 || offsets[0] != 0 || offsets[offsets.length - 1] != n) {
      throw new IllegalArgumentException("offsets must run from 0 to the token count " + n);
    }
    if (readSlots.length != offsets.length - 1) {
      throw new IllegalArgumentException("readSlots needs one entry per sequence");
    }
    for (int s = 0; s < readSlots.length; s++) {
      int from = offsets[s];
      int to = offsets[s + 1];
      if (to <= from) {
        throw new IllegalArgumentException("sequence " + s + " has no new token");
      }
      for (int t = from; t < to; t++) {
        if (positions[t] != positions[from] + (t - from)) {
          throw new IllegalArgumentException("sequence " + s + " positions are not consecutive");
        }
      }
      if (readSlots[s].length != positions[to - 1] + 1) {
        throw new IllegalArgumentException(
            "sequence " + s + " must read " + (positions[to - 1] + 1) + " slots, got " + readSlots[s].length);
      }
    }
  }

  /** A single sequence whose KV rows are simply its positions (slot = position). */
  public static ForwardBatch contiguous(int[] tokens, int startPosition) {
    int n = tokens.length;
    int[] positions = new int[n];
    long[] write = new long[n];
    for (int i = 0; i < n; i++) {
      positions[i] = startPosition + i;
      write[i] = startPosition + i;
    }
    long[] read = new long[startPosition + n];
    Arrays.setAll(read, i -> i);
    return new ForwardBatch(tokens, positions, write, new int[] {0, n}, new long[][] {read});
  }

  /** Number of new tokens {@code N}. */
  public int tokenCount() {
    return positions.length;
  }

  /** Number of sequences {@code S}. */
  public int sequenceCount() {
    return offsets.length - 1;
  }

  /** New tokens of sequence {@code s}. */
  public int newTokens(int s) {
    return offsets[s + 1] - offsets[s];
  }
}
