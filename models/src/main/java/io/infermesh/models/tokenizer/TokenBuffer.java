package io.infermesh.models.tokenizer;

import java.util.Arrays;

/** A growable list of token ids. Not thread-safe: confined to one encode call. */
final class TokenBuffer {
  private int[] ids = new int[16];
  private int size;

  void add(int id) {
    if (size == ids.length) {
      ids = Arrays.copyOf(ids, size * 2);
    }
    ids[size++] = id;
  }

  int size() {
    return size;
  }

  int get(int i) {
    return ids[i];
  }

  int[] toArray() {
    return Arrays.copyOf(ids, size);
  }
}
