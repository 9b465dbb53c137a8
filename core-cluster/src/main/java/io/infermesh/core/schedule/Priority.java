package io.infermesh.core.schedule;

import java.time.Duration;

/** Scheduling class of a request; lower {@link #rank()} is served first. */
public enum Priority {
  /** Interactive traffic a person is waiting on. */
  HIGH(0),
  /** The default. */
  NORMAL(1),
  /** Batch and background work; first to be preempted. */
  LOW(2);

  private final int rank;

  Priority(int rank) {
    this.rank = rank;
  }

  public int rank() {
    return rank;
  }

  /**
   * The rank after waiting {@code waitedNanos}: each full {@code aging} period raises it one class
   * (LOW → NORMAL → HIGH), so low never starves.
   */
  public int agedRank(long waitedNanos, Duration aging) {
    long periods = Math.max(0, waitedNanos) / aging.toNanos();
    return (int) Math.max(0, rank - periods);
  }
}
