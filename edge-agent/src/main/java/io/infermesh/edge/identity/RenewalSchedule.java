package io.infermesh.edge.identity;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.config.Renewal;
import java.time.Duration;
import java.time.Instant;

/**
 * When to renew a certificate and how long to wait after a failed attempt. Pure arithmetic over
 * instants; stateless.
 *
 * <p>With a fraction {@code f} of the lifetime left ({@link Renewal.Before.Fraction}), the renewal
 * time is {@code notAfter - f * (notAfter - notBefore)}, as cert-manager's {@code renewBefore}. With
 * a margin ({@link Renewal.Before.Margin}) it is {@code notAfter - margin}, but never earlier than
 * half the lifetime: a margin longer than the certificates the signer issues would otherwise ask
 * for the next renewal the moment one arrives. After {@code n} failed attempts in a row the next
 * one waits {@code min(maxBackoff, backoff * 2^(n-1))}.
 */
final class RenewalSchedule {
  private RenewalSchedule() {}

  /** When a certificate valid from {@code notBefore} to {@code notAfter} should be renewed. */
  static Instant renewAt(Instant notBefore, Instant notAfter, Renewal.Before before) {
    requireNonNull(before, "before");
    Duration lifetime = Duration.between(notBefore, notAfter);
    if (lifetime.isNegative() || lifetime.isZero()) {
      return notBefore;
    }
    if (before instanceof Renewal.Before.Fraction f) {
      return notAfter.minusNanos((long) (lifetime.toNanos() * f.remaining()));
    }
    Instant byMargin = notAfter.minus(((Renewal.Before.Margin) before).margin());
    Instant half = notBefore.plus(lifetime.dividedBy(2));
    return byMargin.isBefore(half) ? half : byMargin;
  }

  /** Whether {@code margin} is cut to half of {@code lifetime} by {@link #renewAt}. */
  static boolean marginExceedsHalf(Duration lifetime, Renewal.Before before) {
    return before instanceof Renewal.Before.Margin m && m.margin().compareTo(lifetime.dividedBy(2)) > 0;
  }

  /** The wait before the next attempt after {@code failures} (at least 1) failed ones in a row. */
  static Duration backoff(int failures, Duration backoff, Duration maxBackoff) {
    if (failures < 1) {
      throw new IllegalArgumentException("failures must be at least 1, got " + failures);
    }
    int doublings = Math.min(failures - 1, 30);
    Duration wait = backoff.multipliedBy(1L << doublings);
    return wait.compareTo(maxBackoff) > 0 || wait.isNegative() ? maxBackoff : wait;
  }
}
