package io.infermesh.edge.engine;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Scheduling class of a request on the edge, in the order the wire's {@code infermesh.v1.Priority}
 * gives them: an earlier constant is admitted first, and waiting ages a request up one class per
 * aging period so that low never starves.
 */
public enum Priority {
  /** Interactive traffic a person is waiting on. */
  HIGH,
  /** The default. */
  NORMAL,
  /** Batch and background work. */
  LOW;

  /** The class after waiting {@code waitedNanos} (0 = high): one class up per full {@code aging} period. */
  public int agedRank(long waitedNanos, Duration aging) {
    long periods = Math.max(0, waitedNanos) / aging.toNanos();
    return (int) Math.max(0, ordinal() - periods);
  }

  /** The name used in headers, hints and logs: {@code high}, {@code normal}, {@code low}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The priority named {@code name} (any case, surrounding blanks ignored), if it is one. */
  public static Optional<Priority> parse(String name) {
    String wanted = name.strip();
    for (Priority p : values()) {
      if (p.wireName().equalsIgnoreCase(wanted)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }
}
