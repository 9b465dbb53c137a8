package io.infermesh.xds.config;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * Consul discovery ({@code discovery.consul:} in {@code mesh.yaml}).
 *
 * @param address the agent's HTTP address, e.g. {@code http://127.0.0.1:8500}
 * @param token ACL token; empty = none ({@code CONSUL_HTTP_TOKEN} is used when empty)
 * @param datacenter datacenter to query; empty = the agent's
 * @param blockingWait how long one blocking query may wait for a change (Consul caps it at 10m)
 * @param retryBackoff first pause after a failed query; doubles up to 30 s
 * @param services Consul service names to watch; empty = every service in the policy
 */
public record ConsulSettings(
    URI address, String token, String datacenter, Duration blockingWait, Duration retryBackoff, List<String> services) {

  public ConsulSettings {
    requireNonNull(address, "address");
    requireNonNull(token, "token");
    requireNonNull(datacenter, "datacenter");
    requireNonNull(blockingWait, "blockingWait");
    requireNonNull(retryBackoff, "retryBackoff");
    services = List.copyOf(requireNonNull(services, "services"));
    if (!"http".equals(address.getScheme()) && !"https".equals(address.getScheme())) {
      throw new IllegalArgumentException("discovery.consul.address must be http:// or https://, was " + address);
    }
    if (address.getHost() == null) {
      throw new IllegalArgumentException("discovery.consul.address has no host: " + address);
    }
    if (blockingWait.compareTo(Duration.ofSeconds(1)) < 0 || blockingWait.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new IllegalArgumentException("discovery.consul.wait must be 1s..10m, was " + blockingWait);
    }
    if (retryBackoff.isNegative() || retryBackoff.isZero()) {
      throw new IllegalArgumentException("discovery.consul.retry_backoff must be positive, was " + retryBackoff);
    }
  }

  /** The port, defaulting by scheme. */
  public int port() {
    return address.getPort() > 0 ? address.getPort() : "https".equals(address.getScheme()) ? 443 : 80;
  }
}
