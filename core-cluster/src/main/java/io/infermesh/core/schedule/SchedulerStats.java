package io.infermesh.core.schedule;

import java.util.Map;

/**
 * A snapshot of the scheduler for metrics.
 *
 * @param queued waiting requests per (base) priority
 * @param running sequences admitted to the running batch
 * @param kvBlocksUsed blocks held by sequences
 * @param kvBlocksFree blocks in the pool
 * @param preemptions sequences preempted since start
 */
public record SchedulerStats(Map<Priority, Integer> queued, int running, int kvBlocksUsed, int kvBlocksFree,
    long preemptions) {

  /** Nothing queued, running or held. */
  public static final SchedulerStats EMPTY = new SchedulerStats(
      Map.of(Priority.HIGH, 0, Priority.NORMAL, 0, Priority.LOW, 0), 0, 0, 0, 0);

  public SchedulerStats {
    queued = Map.copyOf(queued);
  }
}
