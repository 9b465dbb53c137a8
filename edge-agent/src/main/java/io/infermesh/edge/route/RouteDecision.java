package io.infermesh.edge.route;

import static java.util.Objects.requireNonNull;

/**
 * A routing decision and its machine-readable reason (the HTTP {@code x-infermesh-reason} header,
 * {@code ServedBy.route_reason}).
 *
 * @param route where the request goes
 * @param reason lower-case words joined by dashes, e.g. {@code no-core-configured}
 */
public record RouteDecision(Route route, String reason) {
  private static final RouteDecision CACHE_HIT = new RouteDecision(Route.CACHE, "cache-hit");

  public RouteDecision {
    requireNonNull(route, "route");
    requireNonNull(reason, "reason");
    if (!wellFormed(reason)) {
      throw new IllegalArgumentException("reason must be lower-case words joined by dashes, got '" + reason + "'");
    }
  }

  /** The decision for an answer replayed from the response cache (one shared instance). */
  public static RouteDecision cacheHit() {
    return CACHE_HIT;
  }

  /**
   * Whether {@code reason} matches {@code [a-z0-9]+(-[a-z0-9]+)*}, checked by hand: a decision is made per
   * request, and a regex matcher allocated per request was 5% of the cache-hit path's allocation.
   */
  private static boolean wellFormed(String reason) {
    boolean afterDash = true; // the start counts as one: a word must follow
    for (int i = 0; i < reason.length(); i++) {
      char c = reason.charAt(i);
      if (c == '-') {
        if (afterDash) {
          return false;
        }
        afterDash = true;
      } else if (c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
        afterDash = false;
      } else {
        return false;
      }
    }
    return !afterDash;
  }
}
