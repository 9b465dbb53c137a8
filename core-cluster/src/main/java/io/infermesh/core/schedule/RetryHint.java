package io.infermesh.core.schedule;

import java.time.Duration;

/**
 * The back-off hint sent with RESOURCE_EXHAUSTED: about how long until the queue has room, from
 * the observed time requests spend from arrival to finish (an exponentially weighted average).
 * Not thread-safe: confined to its owner's thread or lock.
 */
final class RetryHint {
  private final Duration fallback;
  private double serviceNanosEwma = -1;

  RetryHint(Duration fallback) {
    this.fallback = fallback;
  }

  /** A request finished normally after {@code nanos} in the system. */
  void served(long nanos) {
    serviceNanosEwma = serviceNanosEwma < 0 ? nanos : 0.8 * serviceNanosEwma + 0.2 * nanos;
  }

  /**
   * The hint with {@code waiting} requests ahead served {@code parallel} at a time: the fallback
   * before anything finished, then between 100 ms and 60 s.
   */
  long millis(int waiting, int parallel) {
    if (serviceNanosEwma < 0) {
      return fallback.toMillis();
    }
    double rounds = Math.ceil((double) waiting / Math.max(1, parallel));
    long millis = (long) (rounds * serviceNanosEwma / 1e6);
    return Math.max(100, Math.min(millis, 60_000));
  }
}
