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
 * @param kvBlocksCached blocks holding a cached prefix, in use or free (free ones count in {@code kvBlocksFree})
 * @param prefixQueriedTokens tokens of sequences looked up in the prefix cache since start
 * @param prefixHitTokens of those, the tokens found cached (not computed)
 */
public record SchedulerStats(Map<Priority, Integer> queued, int running, int kvBlocksUsed, int kvBlocksFree,
    long preemptions, int kvBlocksCached, long prefixQueriedTokens, long prefixHitTokens) {

  /** Nothing queued, running or held. */
  public static final SchedulerStats EMPTY = new SchedulerStats(
      Map.of(Priority.HIGH, 0, Priority.NORMAL, 0, Priority.LOW, 0), 0, 0, 0, 0);

  public SchedulerStats {
    queued = Map.copyOf(queued);
  }

  /** A snapshot without prefix caching. */
  public SchedulerStats(Map<Priority, Integer> queued, int running, int kvBlocksUsed, int kvBlocksFree,
      long preemptions) {
    this(queued, running, kvBlocksUsed, kvBlocksFree, preemptions, 0, 0, 0);
  }
}
