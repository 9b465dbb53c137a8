package io.infermesh.node.registration;

import java.time.Duration;

/**
 * The rules of a node's {@code consul:} section, the same in {@code edge.yaml} and {@code
 * core.yaml}: kept here, beside the registration that uses them, so the two configs cannot drift.
 * Each module reports a broken rule as its own config error, named by the key.
 */
public final class ConsulSection {
  /** Turns a broken rule into the caller's config error; {@code key} as in the YAML. */
  @FunctionalInterface
  public interface Invalid {
    RuntimeException of(String key, String reason);
  }

  private ConsulSection() {}

  /**
   * {@code consul.address} normalized: stripped, without a trailing slash; empty (registration
   * off) for null or blank.
   */
  public static String address(String address, Invalid invalid) {
    String a = address == null ? "" : address.strip();
    if (!a.isEmpty() && !a.matches("https?://[^\\s/]+/?")) {
      throw invalid.of("consul.address", "must be the agent's http(s)://host:port, got '" + a + "'");
    }
    return a.endsWith("/") ? a.substring(0, a.length() - 1) : a;
  }

  /** Checks {@code consul.service_name}, {@code tier}, {@code check_interval} and {@code deregister_after}. */
  public static void check(String serviceName, String tier, Duration checkInterval, Duration deregisterAfter,
      Invalid invalid) {
    if (serviceName == null || !serviceName.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
      throw invalid.of("consul.service_name", "must be letters, digits, '-', '_' or '.', got '" + serviceName + "'");
    }
    if (!"private".equals(tier) && !"public".equals(tier)) {
      throw invalid.of("consul.tier", "must be private or public, got '" + tier + "'");
    }
    if (checkInterval == null || checkInterval.compareTo(Duration.ofSeconds(1)) < 0) {
      throw invalid.of("consul.check_interval", "must be at least 1s, got " + checkInterval);
    }
    if (deregisterAfter == null || deregisterAfter.compareTo(Duration.ofMinutes(1)) < 0) {
      throw invalid.of("consul.deregister_after", "must be at least 1m (Consul's minimum), got " + deregisterAfter);
    }
  }
}
