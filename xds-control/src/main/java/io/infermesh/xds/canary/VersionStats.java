package io.infermesh.xds.canary;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * What the nodes of one model version report, cumulative since each started and summed over the
 * nodes: requests that ended, those that failed, and the time-to-first-token histogram. A window's
 * figures are the difference of two reports ({@link #since}). Immutable.
 *
 * @param requests calls that ended, successfully or not
 * @param errors calls that failed on the server's side (not the caller's invalid requests)
 * @param ttft time to first token of the calls that produced one
 */
public record VersionStats(long requests, long errors, LatencyHistogram ttft) {

  /** Nothing reported. */
  public static final VersionStats NONE = new VersionStats(0, 0, LatencyHistogram.empty());

  public VersionStats {
    requireNonNull(ttft, "ttft");
    if (requests < 0 || errors < 0 || errors > requests) {
      throw new IllegalArgumentException("need 0 <= errors <= requests, was " + errors + " of " + requests);
    }
  }

  /** Node by node sum. */
  public VersionStats plus(VersionStats other) {
    return new VersionStats(requests + other.requests, errors + other.errors, ttft.plus(other.ttft));
  }

  /** The window since {@code earlier}; empty when a counter went down (a node restarted or left). */
  public Optional<VersionStats> since(VersionStats earlier) {
    long r = requests - earlier.requests;
    long e = errors - earlier.errors;
    if (r < 0 || e < 0 || e > r) {
      return Optional.empty();
    }
    return ttft.since(earlier.ttft).map(h -> new VersionStats(r, e, h));
  }

  /** Failed / all, 0 with no requests. */
  public double errorRate() {
    return requests == 0 ? 0 : (double) errors / requests;
  }
}
