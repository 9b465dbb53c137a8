package io.infermesh.edge.privacy;

/** Shannon entropy of a value's chars, to tell a generated secret from a word after {@code token=}. */
final class Entropy {
  private Entropy() {}

  /** Bits per char of {@code t[s, e)} under its own char frequencies; 0 for an empty range. */
  static double bitsPerChar(CharSequence t, int s, int e) {
    int n = e - s;
    if (n <= 0) {
      return 0;
    }
    int[] counts = new int[128];
    int other = 0;
    for (int i = s; i < e; i++) {
      char c = t.charAt(i);
      if (c < 128) {
        counts[c]++;
      } else {
        other++;
      }
    }
    double bits = 0;
    for (int count : counts) {
      bits += term(count, n);
    }
    return bits + term(other, n);
  }

  private static double term(int count, int n) {
    if (count == 0) {
      return 0;
    }
    double p = (double) count / n;
    return -p * Math.log(p) / Math.log(2);
  }
}
