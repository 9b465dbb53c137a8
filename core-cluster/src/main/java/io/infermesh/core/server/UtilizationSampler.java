package io.infermesh.core.server;

import io.infermesh.core.schedule.SchedulerStats;
import io.infermesh.core.schedule.Utilization;
import java.time.Duration;
import java.util.Objects;
import java.util.function.DoubleConsumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Samples a node's {@link Utilization} from its scheduler (or upstream gate) stats, smooths it and
 * hands each smoothed value to a sink (the Consul registration). {@link #sample()} runs on one
 * thread (the node's timer, every {@link #period}); {@link #value()} may be read from any thread.
 */
final class UtilizationSampler {
  private static final Logger log = LoggerFactory.getLogger(UtilizationSampler.class);
  private static final Duration MIN_PERIOD = Duration.ofMillis(100);
  private static final Duration MAX_PERIOD = Duration.ofSeconds(1);

  private final Supplier<SchedulerStats> stats;
  private final int slots;
  private final Utilization smoothed; // confined to the sampling thread
  private final LongSupplier nanoTime;
  private final DoubleConsumer sink;
  private volatile double value;

  /**
   * @param slots the running batch's limit ({@code scheduler.max_batch_size}), or the upstream calls
   *     allowed in flight
   */
  UtilizationSampler(Supplier<SchedulerStats> stats, int slots, Duration window, LongSupplier nanoTime,
      DoubleConsumer sink) {
    this.stats = Objects.requireNonNull(stats, "stats");
    this.slots = slots;
    this.smoothed = new Utilization(window);
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.sink = Objects.requireNonNull(sink, "sink");
  }

  /** How often to sample for a moving average over {@code window}: a tenth of it, within 100 ms..1 s. */
  static Duration period(Duration window) {
    Duration tenth = window.dividedBy(10);
    return tenth.compareTo(MIN_PERIOD) < 0 ? MIN_PERIOD : tenth.compareTo(MAX_PERIOD) > 0 ? MAX_PERIOD : tenth;
  }

  /** Takes one sample and passes the smoothed value on; a failure is logged, never thrown (it runs on a timer). */
  void sample() {
    try {
      double u = smoothed.sample(nanoTime.getAsLong(), Utilization.instant(stats.get(), slots));
      value = u;
      sink.accept(u);
    } catch (RuntimeException e) {
      log.warn("utilization sample failed; trying again next period", e);
    }
  }

  /** The last smoothed value (0 before the first sample). */
  double value() {
    return value;
  }
}
