package io.infermesh.edge.route;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * A routing decision and its machine-readable reason (the HTTP {@code x-infermesh-reason} header,
 * {@code ServedBy.route_reason}).
 *
 * @param route where the request goes
 * @param reason lower-case words joined by dashes, e.g. {@code no-core-configured}
 */
public record RouteDecision(Route route, String reason) {
  private static final Pattern REASON = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");

  public RouteDecision {
    requireNonNull(route, "route");
    requireNonNull(reason, "reason");
    if (!REASON.matcher(reason).matches()) {
      throw new IllegalArgumentException("reason must be lower-case words joined by dashes, got '" + reason + "'");
    }
  }

  /** The decision for an answer replayed from the response cache. */
  public static RouteDecision cacheHit() {
    return new RouteDecision(Route.CACHE, "cache-hit");
  }
}
