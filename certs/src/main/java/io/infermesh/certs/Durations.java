package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/** The one duration rule the builders of this package share. Stateless. */
final class Durations {
  private Durations() {}

  /**
   * Returns {@code value} when it is positive.
   *
   * @param name what the value is, for the message ("validity", "refresh period")
   * @throws IllegalArgumentException "NAME must be positive, got VALUE" when zero or negative
   */
  static Duration requirePositive(Duration value, String name) {
    requireNonNull(value, name);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
    return value;
  }
}
