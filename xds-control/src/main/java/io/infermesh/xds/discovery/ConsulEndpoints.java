package io.infermesh.xds.discovery;

import com.ecwid.consul.v1.health.model.Check;
import com.ecwid.consul.v1.health.model.HealthService;
import io.infermesh.node.registration.RegistrationMeta;
import io.infermesh.xds.snapshot.EndpointHealth;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps Consul's {@code /v1/health/service/<name>} entries to {@link MeshEndpoint}s.
 *
 * <p>Service meta (preferred) or {@code key=value} tags carry: {@code region} (else the node's
 * datacenter), {@code zone}, {@code tier} ({@code private}/{@code public}; else the region's tier
 * from {@code mesh.yaml}), {@code model}, {@code version} (default {@code v1}) and
 * {@code utilization} (a number ≥ 0 reported by the node: 1 is a full node, above 1 means requests
 * queue). The address is the service address, else the node's. An entry that cannot be mapped is
 * skipped with a warning.
 *
 * <p>A {@code role} attribute ({@code edge} or {@code core}, written by {@code
 * io.infermesh.node.registration.ConsulRegistration}) must match the role the service's policy
 * expects of its servers ({@code server_role}): an edge agent registered under a core service name
 * (a misconfigured {@code consul.service_name}) is skipped with a warning rather than sent core
 * traffic it cannot serve. Instances without the attribute (registered by other tools) are kept.
 * Stateless.
 */
final class ConsulEndpoints {

  private static final Logger log = LoggerFactory.getLogger(ConsulEndpoints.class);

  private ConsulEndpoints() {}

  static List<MeshEndpoint> map(String service, List<HealthService> entries, Function<String, Optional<Tier>> regionTier) {
    return map(service, Optional.empty(), entries, regionTier);
  }

  /** @param serverRole the role the service's servers must register with; empty accepts any */
  static List<MeshEndpoint> map(String service, Optional<String> serverRole, List<HealthService> entries,
      Function<String, Optional<Tier>> regionTier) {
    List<MeshEndpoint> out = new ArrayList<>(entries.size());
    for (HealthService entry : entries) {
      try {
        out.add(map(service, serverRole, entry, regionTier));
      } catch (RuntimeException e) {
        String id = entry.getService() == null ? "?" : entry.getService().getId();
        log.warn("consul: skipping instance {} of {}: {}", id, service, e.getMessage());
      }
    }
    return out;
  }

  static MeshEndpoint map(String service, HealthService entry, Function<String, Optional<Tier>> regionTier) {
    return map(service, Optional.empty(), entry, regionTier);
  }

  static MeshEndpoint map(String service, Optional<String> serverRole, HealthService entry,
      Function<String, Optional<Tier>> regionTier) {
    HealthService.Service s = entry.getService();
    HealthService.Node node = entry.getNode();
    if (s == null) {
      throw new IllegalArgumentException("entry has no Service");
    }
    Map<String, String> attributes = new HashMap<>();
    if (s.getTags() != null) {
      for (String tag : s.getTags()) {
        int eq = tag.indexOf('=');
        if (eq > 0) {
          attributes.put(tag.substring(0, eq).trim(), tag.substring(eq + 1).trim());
        }
      }
    }
    if (s.getMeta() != null) {
      attributes.putAll(s.getMeta());
    }
    String role = attributes.get(RegistrationMeta.ROLE);
    if (role != null && serverRole.isPresent() && !serverRole.get().equals(role)) {
      throw new IllegalArgumentException("registered with role " + role + ", but " + service + " is served by role "
          + serverRole.get() + " (check the node's consul.service_name)");
    }
    String address = s.getAddress() != null && !s.getAddress().isBlank()
        ? s.getAddress()
        : node == null ? null : node.getAddress();
    if (address == null || address.isBlank()) {
      throw new IllegalArgumentException("no service or node address");
    }
    if (s.getPort() == null) {
      throw new IllegalArgumentException("no port");
    }
    String region = attributes.getOrDefault(RegistrationMeta.REGION, node == null || node.getDatacenter() == null ? "" : node.getDatacenter());
    Tier tier = attributes.containsKey(RegistrationMeta.TIER)
        ? Tier.parse(attributes.get(RegistrationMeta.TIER))
        : regionTier.apply(region).orElse(Tier.PRIVATE);
    double utilization = 0;
    if (attributes.containsKey(RegistrationMeta.UTILIZATION)) {
      try {
        utilization = Double.parseDouble(attributes.get(RegistrationMeta.UTILIZATION));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("utilization is not a number: " + attributes.get(RegistrationMeta.UTILIZATION));
      }
    }
    return MeshEndpoint.builder(service, address, s.getPort(), region)
        .id(s.getId() == null ? address + ":" + s.getPort() : s.getId())
        .zone(attributes.getOrDefault(RegistrationMeta.ZONE, ""))
        .tier(tier)
        .model(attributes.getOrDefault(RegistrationMeta.MODEL, service))
        .version(attributes.getOrDefault(RegistrationMeta.VERSION, "v1"))
        .health(health(entry.getChecks()))
        .utilization(utilization)
        .metricsPort(metricsPort(attributes.get(RegistrationMeta.METRICS_PORT)))
        .build();
  }

  /** The {@code metrics_port} meta: 0 when absent (not scraped). */
  private static int metricsPort(String text) {
    if (text == null) {
      return 0;
    }
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("metrics_port is not a port: " + text);
    }
  }

  /** Critical anywhere = unhealthy; maintenance = draining; passing or warning = healthy. */
  private static EndpointHealth health(List<Check> checks) {
    if (checks == null) {
      return EndpointHealth.HEALTHY;
    }
    EndpointHealth health = EndpointHealth.HEALTHY;
    for (Check c : checks) {
      if (c.getStatus() == Check.CheckStatus.CRITICAL) {
        return EndpointHealth.UNHEALTHY;
      }
      if (c.getCheckId() != null && c.getCheckId().startsWith("_service_maintenance")) {
        health = EndpointHealth.DRAINING;
      }
    }
    return health;
  }
}
