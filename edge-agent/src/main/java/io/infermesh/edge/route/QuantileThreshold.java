package io.infermesh.edge.route;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.Arrays;

/**
 * A threshold calibrated so that about {@code targetRate} of recent requests escalate: the
 * {@code (1 - targetRate)} quantile of the last {@code window} scores. Until {@code minSamples}
 * scores are seen, the {@code initial} threshold applies. The quantile is recomputed every
 * {@code window / 16} scores (at least 1), so a decision costs O(1) amortized plus an occasional
 * sort of the window.
 *
 * <p>Thread-safe: the ring of scores is guarded by {@code this}; the current value is volatile.
 */
public final class QuantileThreshold implements Threshold {
  private final double targetRate;
  @GuardedBy("this")
  private final double[] ring;
  private final int minSamples;
  private final int recomputeEvery;
  @GuardedBy("this")
  private long seen;
  private volatile double value;

  private QuantileThreshold(double targetRate, int window, int minSamples, double initial) {
    this.targetRate = targetRate;
    this.ring = new double[window];
    this.minSamples = minSamples;
    this.recomputeEvery = Math.max(1, window / 16);
    this.value = initial;
  }

  /**
   * A threshold aiming at {@code targetRate} escalations.
   *
   * @param targetRate the share of requests to escalate, in {@code (0, 1)}
   * @param window how many recent scores to keep (at least 1)
   * @param minSamples scores needed before calibrating (1..window)
   * @param initial the threshold before then, in {@code [0, 1]}
   */
  public static QuantileThreshold of(double targetRate, int window, int minSamples, double initial) {
    if (!(targetRate > 0 && targetRate < 1)) {
      throw new IllegalArgumentException("target rate must be in (0, 1), got " + targetRate);
    }
    if (window < 1) {
      throw new IllegalArgumentException("window must be at least 1, got " + window);
    }
    if (minSamples < 1 || minSamples > window) {
      throw new IllegalArgumentException("min samples must be in 1.." + window + ", got " + minSamples);
    }
    if (!(initial >= 0 && initial <= 1)) {
      throw new IllegalArgumentException("initial threshold must be in [0, 1], got " + initial);
    }
    return new QuantileThreshold(targetRate, window, minSamples, initial);
  }

  @Override
  public boolean escalate(double score) {
    record(score);
    return score >= value;
  }

  private synchronized void record(double score) {
    ring[(int) (seen % ring.length)] = score;
    seen++;
    if (seen >= minSamples && seen % recomputeEvery == 0) {
      int n = (int) Math.min(seen, ring.length);
      double[] sorted = Arrays.copyOf(ring, n);
      Arrays.sort(sorted);
      // the smallest score such that at most targetRate of the window lies at or above it
      int index = (int) Math.ceil((1 - targetRate) * n);
      value = index >= n ? Math.nextUp(sorted[n - 1]) : sorted[index];
    }
  }

  @Override
  public double value() {
    return value;
  }

  @Override
  public String toString() {
    return "QuantileThreshold{target=" + targetRate + ", value=" + value + "}";
  }
}
