package io.infermesh.edge.config;

import io.infermesh.node.config.ConfigException;
import io.infermesh.node.registration.ConsulSection;
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
    address = ConsulSection.address(address, ConfigException::new);
    token = token == null ? "" : token;
    serviceAddress = serviceAddress == null ? "" : serviceAddress.strip();
    ConsulSection.check(serviceName, tier, checkInterval, deregisterAfter, ConfigException::new);
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
