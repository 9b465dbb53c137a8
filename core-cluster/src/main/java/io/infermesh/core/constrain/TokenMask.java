package io.infermesh.core.constrain;

/**
 * The tokens allowed in one matcher state: a bit per vocabulary entry, and the largest {@link
 * MatchState#distance()} any allowed (non-end) token leads to, which tells whether a tight token
 * budget needs a stricter mask. Immutable once built.
 *
 * @param bits {@code (ceil(vocab / 64))}, bit {@code t & 63} of word {@code t >>> 6} set when token t is allowed
 * @param maxDistance largest distance after an allowed text token; -1 when only end tokens are allowed
 * @param allowed how many tokens are allowed
 */
record TokenMask(long[] bits, int maxDistance, int allowed) {

  boolean allows(int token) {
    return (bits[token >>> 6] & (1L << (token & 63))) != 0;
  }

  /**
   * Sets every disallowed logit of {@code row} {@code (vocab)} to -Infinity: a pass over the
   * words, touching only the floats of words that are not fully allowed.
   */
  void apply(float[] row) {
    int n = row.length;
    for (int w = 0; w < bits.length; w++) {
      long word = bits[w];
      if (word == -1L) {
        continue;
      }
      int base = w << 6;
      int end = Math.min(64, n - base);
      for (int i = 0; i < end; i++) {
        if ((word & (1L << i)) == 0) {
          row[base + i] = Float.NEGATIVE_INFINITY;
        }
      }
    }
  }
}
