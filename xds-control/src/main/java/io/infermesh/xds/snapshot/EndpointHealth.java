package io.infermesh.xds.snapshot;

import java.util.Locale;

/** Health of one endpoint as discovery sees it (Consul checks, or {@code mesh.yaml}). */
public enum EndpointHealth {
  /** Serving; receives traffic. */
  HEALTHY,
  /** Failing its checks; receives no traffic and does not count towards its locality. */
  UNHEALTHY,
  /** Going away; finishes what it has, takes nothing new. */
  DRAINING;

  /** Whether traffic may be sent to an endpoint in this state. */
  public boolean serving() {
    return this == HEALTHY;
  }

  /**
   * Parses {@code healthy}, {@code unhealthy} or {@code draining}, any case; {@code passing} and
   * {@code critical} (Consul's words) are accepted too.
   */
  public static EndpointHealth parse(String text) {
    String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    return switch (t) {
      case "healthy", "passing" -> HEALTHY;
      case "unhealthy", "critical" -> UNHEALTHY;
      case "draining", "maintenance" -> DRAINING;
      default -> throw new IllegalArgumentException(
          "health must be healthy, unhealthy or draining, was '" + text + "'");
    };
  }
}
