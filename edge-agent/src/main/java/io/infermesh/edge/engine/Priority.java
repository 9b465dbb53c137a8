package io.infermesh.edge.engine;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Scheduling class of a request, the edge's copy of the wire's {@code infermesh.v1.Priority}: lower
 * {@link #rank()} is admitted first, and waiting ages a request up a class at a time so that low
 * never starves.
 */
public enum Priority {
  /** Interactive traffic a person is waiting on. */
  HIGH(0),
  /** The default. */
  NORMAL(1),
  /** Batch and background work. */
  LOW(2);

  private final int rank;

  Priority(int rank) {
    this.rank = rank;
  }

  public int rank() {
    return rank;
  }

  /** The rank after waiting {@code waitedNanos}: each full {@code aging} period raises it one class. */
  public int agedRank(long waitedNanos, Duration aging) {
    long periods = Math.max(0, waitedNanos) / aging.toNanos();
    return (int) Math.max(0, rank - periods);
  }

  /** The name used in headers, hints and logs: {@code high}, {@code normal}, {@code low}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The priority named {@code name} (any case), if it is one. */
  public static Optional<Priority> parse(String name) {
    for (Priority p : values()) {
      if (p.wireName().equalsIgnoreCase(name.strip())) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }
}
