package io.infermesh.xds.canary;

import static java.util.Objects.requireNonNull;

import java.util.Collections;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A cumulative latency histogram as Prometheus exposes one: for each bucket's upper bound {@code
 * le} (seconds, the last may be {@code +Inf}) the number of observations at or below it, counted
 * since the process started. Immutable.
 *
 * <p>The quantile of a window is read from the difference of two such histograms, the way
 * PromQL's {@code histogram_quantile(q, increase(..._bucket[w]))} does, except that it answers the
 * upper bound of the bucket holding the q-th observation instead of interpolating inside it: an
 * SLO is judged against a value the true quantile does not exceed.
 *
 * @param cumulative upper bound in seconds → observations at or below it; counts never fall as
 *     the bound rises
 */
public record LatencyHistogram(NavigableMap<Double, Long> cumulative) {

  private static final LatencyHistogram EMPTY = new LatencyHistogram(new TreeMap<>());

  public LatencyHistogram {
    cumulative = Collections.unmodifiableNavigableMap(new TreeMap<>(requireNonNull(cumulative, "cumulative")));
    long previous = 0;
    for (Map.Entry<Double, Long> e : cumulative.entrySet()) {
      if (e.getKey().isNaN() || e.getValue() < previous) {
        throw new IllegalArgumentException("bucket counts must not fall as le rises: " + cumulative);
      }
      previous = e.getValue();
    }
  }

  /** No observations, no buckets. */
  public static LatencyHistogram empty() {
    return EMPTY;
  }

  /** Observations counted (the highest bucket's count). */
  public long count() {
    return cumulative.isEmpty() ? 0 : cumulative.lastEntry().getValue();
  }

  /** Bucket by bucket sum (several nodes of one version); a bucket one side lacks counts as absent there. */
  public LatencyHistogram plus(LatencyHistogram other) {
    TreeMap<Double, Long> sum = new TreeMap<>(cumulative);
    other.cumulative.forEach((le, n) -> sum.merge(le, n, Long::sum));
    return new LatencyHistogram(sum);
  }

  /**
   * What was observed since {@code earlier}; empty when a count went down (the process restarted,
   * or a node left), i.e. the difference means nothing.
   */
  public Optional<LatencyHistogram> since(LatencyHistogram earlier) {
    TreeMap<Double, Long> delta = new TreeMap<>();
    for (Map.Entry<Double, Long> e : cumulative.entrySet()) {
      long d = e.getValue() - earlier.cumulative.getOrDefault(e.getKey(), 0L);
      if (d < 0) {
        return Optional.empty();
      }
      delta.put(e.getKey(), d);
    }
    for (Double le : earlier.cumulative.keySet()) {
      if (!cumulative.containsKey(le)) {
        return Optional.empty();
      }
    }
    try {
      return Optional.of(new LatencyHistogram(delta));
    } catch (IllegalArgumentException e) {
      return Optional.empty(); // buckets of different layouts were subtracted
    }
  }

  /**
   * The upper bound (seconds) of the bucket that holds the {@code q}-th observation: the true
   * quantile is at most this; {@code +Inf} when it falls beyond the last finite bound; empty when
   * nothing was observed.
   *
   * @param q in (0, 1]
   */
  public Optional<Double> quantileUpperBound(double q) {
    if (!(q > 0 && q <= 1)) {
      throw new IllegalArgumentException("q must be in (0, 1], was " + q);
    }
    long total = count();
    if (total == 0) {
      return Optional.empty();
    }
    double rank = Math.ceil(q * total);
    for (Map.Entry<Double, Long> e : cumulative.entrySet()) {
      if (e.getValue() >= rank) {
        return Optional.of(e.getKey());
      }
    }
    return Optional.of(Double.POSITIVE_INFINITY);
  }
}
