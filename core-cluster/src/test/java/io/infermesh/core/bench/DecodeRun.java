package io.infermesh.core.bench;

import java.util.Arrays;

/**
 * What one engine did with one batch of concurrent streams: each stream's greedy tokens and the
 * aggregate decode rate, the tokens after each stream's first divided by the time from the moment
 * every stream had its first token to the moment the last one finished (so prefill and queueing
 * are out of it, for every engine alike).
 *
 * @param decodeTokensPerSecond aggregate decode tokens/s over all streams
 * @param tokens generated tokens, per stream
 */
record DecodeRun(double decodeTokensPerSecond, int[][] tokens) {

  /** From per-stream times on one clock (nanoseconds): first token, last token. */
  static DecodeRun of(long[] firstTokenNanos, long[] endNanos, int[][] tokens) {
    long decoded = 0;
    for (int[] t : tokens) {
      if (t.length == 0) {
        throw new IllegalStateException("a stream generated no token");
      }
      decoded += t.length - 1;
    }
    long start = Arrays.stream(firstTokenNanos).max().orElseThrow();
    long end = Arrays.stream(endNanos).max().orElseThrow();
    return new DecodeRun(decoded / ((end - start) / 1e9), tokens);
  }
}
