package io.infermesh.core.schedule;

import java.time.Duration;
import java.util.Objects;

/**
 * How loaded a core node is, as one number for the control plane's burst policy: {@code 0} idle,
 * {@code 1} saturated, above 1 when requests queue behind a saturated node (capped at {@link #MAX}).
 *
 * <p>The instant figure ({@link #instant}) is the busier of the two resources a request needs,
 * plus the queue measured in batches:
 *
 * <pre>
 *   u = max(running / slots, kvUsed / (kvUsed + kvFree)) + queued / slots     (capped at MAX)
 * </pre>
 *
 * where {@code slots} is the running batch's size limit ({@code scheduler.max_batch_size}) for the
 * built-in engine, or the calls allowed in flight for an upstream engine (whose stats carry no KV
 * blocks, so only its in-flight and queued calls count). The queue term is what makes the figure
 * track demand rather than occupancy: a node whose batch is full and that holds another full batch
 * in its queue reports 2, so the burst policy's demand estimate sees the overflow instead of a flat
 * 1. It is capped so that a momentary backlog (a burst of arrivals) cannot swing the share alone.
 *
 * <p>The published figure is that value smoothed by an exponential moving average with time
 * constant {@code window}, sampled at irregular times ({@code alpha = 1 - exp(-dt / window)}): the
 * running batch changes with every request that starts or ends, and the control plane should see
 * the load, not each arrival. The first sample is taken as it is.
 *
 * <p>How often the figure reaches Consul is the registration's rule ({@code
 * io.infermesh.node.registration.ConsulRegistration}: a move of a step or more, or down to zero).
 *
 * <p>Pure: no threads, no clock of its own (time comes in with each sample). Not thread-safe:
 * confine an instance to one thread.
 */
public final class Utilization {
  /** The largest figure ever reported: a full batch with another full batch waiting. */
  public static final double MAX = 2.0;
  private final long windowNanos;
  private double value;
  private long lastNanos;
  private boolean sampled;

  /**
   * @param window time constant of the moving average; zero reports each sample as it is
   * @throws IllegalArgumentException if {@code window} is negative
   */
  public Utilization(Duration window) {
    Objects.requireNonNull(window, "window");
    if (window.isNegative()) {
      throw new IllegalArgumentException("utilization window must not be negative, got " + window);
    }
    this.windowNanos = window.toNanos();
  }

  /**
   * The instant utilization of a scheduler (or priority gate) whose running batch holds at most
   * {@code slots} sequences (or calls); see the class comment for the formula.
   *
   * @throws IllegalArgumentException if {@code slots} is not positive
   */
  public static double instant(SchedulerStats stats, int slots) {
    Objects.requireNonNull(stats, "stats");
    if (slots <= 0) {
      throw new IllegalArgumentException("slots must be positive, got " + slots);
    }
    double batch = (double) stats.running() / slots;
    int kvTotal = stats.kvBlocksUsed() + stats.kvBlocksFree();
    double kv = kvTotal == 0 ? 0 : (double) stats.kvBlocksUsed() / kvTotal;
    int queued = 0;
    for (int n : stats.queued().values()) {
      queued += n;
    }
    return Math.min(MAX, Math.max(batch, kv) + (double) queued / slots);
  }

  /**
   * Folds in the instant figure {@code instant} observed at {@code nanos} and returns the smoothed
   * value. A sample older than the previous one only counts as taken at the same time.
   */
  public double sample(long nanos, double instant) {
    if (!(instant >= 0) || Double.isInfinite(instant)) {
      throw new IllegalArgumentException("utilization must be a finite number >= 0, got " + instant);
    }
    double u = Math.min(MAX, instant);
    if (!sampled || windowNanos == 0) {
      value = u;
    } else {
      long dt = Math.max(0, nanos - lastNanos);
      double alpha = 1 - Math.exp(-(double) dt / windowNanos);
      value += alpha * (u - value);
    }
    if (!sampled || nanos - lastNanos > 0) {
      lastNanos = nanos;
    }
    sampled = true;
    return value;
  }

  /** The smoothed value; 0 before the first sample. */
  public double value() {
    return value;
  }
}
