package io.infermesh.edge.config;

import java.time.Duration;

/**
 * Registration of this edge in its local Consul agent ({@code consul} in {@code edge.yaml}), the
 * same keys as a core node's: with {@code address} set the agent registers itself (role
 * {@code edge}) with a TTL check that passes while its model is loaded, publishes its load in the
 * service meta, and deregisters on shutdown.
 *
 * @param address the agent's HTTP API, {@code http(s)://host:port}; empty (the default) = no registration
 * @param token ACL token sent as {@code X-Consul-Token}; empty sends none
 * @param serviceName the Consul service this edge registers in; not a core service's name, or
 *     discovery skips it there (its policy expects role core)
 * @param serviceAddress the address registered (what gateways dial); empty = the agent's node address
 * @param tier {@code private} or {@code public}
 * @param checkInterval how often the agent reports to its TTL check (the TTL is three intervals); at least 1s
 * @param deregisterAfter Consul removes the agent after its check has been critical this long; at least 1m
 */
public record Consul(String address, String token, String serviceName, String serviceAddress, String tier,
    Duration checkInterval, Duration deregisterAfter) {
  public static final String DEFAULT_SERVICE_NAME = "edge-inference";
  public static final Consul DISABLED = new Consul("", "", DEFAULT_SERVICE_NAME, "", "private",
      Duration.ofSeconds(10), Duration.ofMinutes(1));

  public Consul {
    address = address == null ? "" : address.strip();
    if (!address.isEmpty() && !address.matches("https?://[^\\s/]+/?")) {
      throw new ConfigException("consul.address", "must be the agent's http(s)://host:port, got '" + address + "'");
    }
    if (address.endsWith("/")) {
      address = address.substring(0, address.length() - 1);
    }
    token = token == null ? "" : token;
    if (serviceName == null || !serviceName.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
      throw new ConfigException("consul.service_name",
          "must be letters, digits, '-', '_' or '.', got '" + serviceName + "'");
    }
    serviceAddress = serviceAddress == null ? "" : serviceAddress.strip();
    if (!"private".equals(tier) && !"public".equals(tier)) {
      throw new ConfigException("consul.tier", "must be private or public, got '" + tier + "'");
    }
    if (checkInterval == null || checkInterval.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new ConfigException("consul.check_interval", "must be at least 1s, got " + checkInterval);
    }
    if (deregisterAfter == null || deregisterAfter.compareTo(Duration.ofMinutes(1)) < 0) {
      throw new ConfigException("consul.deregister_after",
          "must be at least 1m (Consul's minimum), got " + deregisterAfter);
    }
  }

  /** Registration with the agent at {@code address}, every other key at its default. */
  public static Consul at(String address) {
    return new Consul(address, "", DEFAULT_SERVICE_NAME, "", "private", Duration.ofSeconds(10), Duration.ofMinutes(1));
  }

  /** Whether the edge registers (an address is set). */
  public boolean enabled() {
    return !address.isEmpty();
  }
}
