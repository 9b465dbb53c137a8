package io.infermesh.node.registration;

import static java.util.Objects.requireNonNull;

import io.infermesh.certs.Role;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one mesh node (an edge agent or a core node) registers in its local Consul agent, and how
 * often it reports. Built with {@link #builder}; validated when built, errors name the setting.
 *
 * @param consulAddress the agent's HTTP API, {@code http(s)://host:port} (no trailing slash)
 * @param token ACL token sent as {@code X-Consul-Token}; empty sends none
 * @param serviceName the Consul service (what xds-control watches, e.g. {@code core-inference})
 * @param serviceId this node's unique id in the service (the node name)
 * @param serviceAddress the address peers dial; empty lets Consul use the agent's node address
 * @param port the port peers dial (core: gRPC; edge: gRPC when it serves it, else HTTP)
 * @param role {@link Role#EDGE} or {@link Role#CORE}; discovery routes a service only to
 *     instances of the role its policy's {@code server_role} names
 * @param region the node's region
 * @param tier {@code private} or {@code public}
 * @param model the model the node serves
 * @param version the model version; empty leaves it out (discovery then reads {@code v1})
 * @param extraMeta more fixed attributes (e.g. the edge's HTTP port), in meta and as tags
 * @param readiness what "ready" means for this node, shown in the check's name and output
 * @param checkInterval how often the node reports to its TTL check (the TTL is three intervals)
 * @param deregisterAfter Consul removes the node after its check has been critical this long
 */
public record RegistrationSettings(
    String consulAddress,
    String token,
    String serviceName,
    String serviceId,
    String serviceAddress,
    int port,
    Role role,
    String region,
    String tier,
    String model,
    String version,
    Map<String, String> extraMeta,
    String readiness,
    Duration checkInterval,
    Duration deregisterAfter) {

  /** Keys the registration writes itself; {@code extraMeta} may not use them. */
  static final List<String> RESERVED_KEYS = RegistrationMeta.RESERVED;

  public RegistrationSettings {
    requireNonNull(consulAddress, "consulAddress");
    requireNonNull(token, "token");
    requireNonNull(serviceName, "serviceName");
    requireNonNull(serviceId, "serviceId");
    requireNonNull(serviceAddress, "serviceAddress");
    requireNonNull(role, "role");
    requireNonNull(region, "region");
    requireNonNull(tier, "tier");
    requireNonNull(model, "model");
    requireNonNull(version, "version");
    extraMeta = Map.copyOf(requireNonNull(extraMeta, "extraMeta"));
    requireNonNull(readiness, "readiness");
    requireNonNull(checkInterval, "checkInterval");
    requireNonNull(deregisterAfter, "deregisterAfter");
    if (!consulAddress.matches("https?://[^\\s/]+")) {
      throw new IllegalArgumentException("consul address must be the agent's http(s)://host:port, got '"
          + consulAddress + "'");
    }
    if (!serviceName.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
      throw new IllegalArgumentException("service name must be letters, digits, '-', '_' or '.', got '"
          + serviceName + "'");
    }
    if (serviceId.isBlank()) {
      throw new IllegalArgumentException("service id must not be blank");
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("port must be 1..65535, got " + port);
    }
    if (role != Role.EDGE && role != Role.CORE) {
      throw new IllegalArgumentException("role must be edge or core, got " + role.pathName());
    }
    if (!"private".equals(tier) && !"public".equals(tier)) {
      throw new IllegalArgumentException("tier must be private or public, got '" + tier + "'");
    }
    for (String key : extraMeta.keySet()) {
      if (RESERVED_KEYS.contains(key) || !key.matches("[A-Za-z0-9_-]{1,128}")) {
        throw new IllegalArgumentException("meta key '" + key + "' is reserved or not a valid Consul meta key");
      }
    }
    if (checkInterval.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("check interval must be at least 1s, got " + checkInterval);
    }
    if (deregisterAfter.compareTo(Duration.ofMinutes(1)) < 0) {
      throw new IllegalArgumentException("deregister after must be at least 1m (Consul's minimum), got "
          + deregisterAfter);
    }
  }

  /** Starts settings for node {@code serviceId} of {@code role} in {@code serviceName}, at the agent {@code consulAddress}. */
  public static Builder builder(String consulAddress, String serviceName, String serviceId, Role role) {
    return new Builder(consulAddress, serviceName, serviceId, role);
  }

  /**
   * Configures {@link RegistrationSettings}; every setting not given has the default named on its
   * method. Not thread-safe.
   */
  public static final class Builder {
    private final String consulAddress;
    private final String serviceName;
    private final String serviceId;
    private final Role role;
    private String token = "";
    private String serviceAddress = "";
    private int port;
    private String region = "";
    private String tier = "private";
    private String model = "";
    private String version = "";
    private final Map<String, String> extraMeta = new LinkedHashMap<>();
    private String readiness = "ready";
    private Duration checkInterval = Duration.ofSeconds(10);
    private Duration deregisterAfter = Duration.ofMinutes(1);

    private Builder(String consulAddress, String serviceName, String serviceId, Role role) {
      this.consulAddress = requireNonNull(consulAddress, "consulAddress");
      this.serviceName = requireNonNull(serviceName, "serviceName");
      this.serviceId = requireNonNull(serviceId, "serviceId");
      this.role = requireNonNull(role, "role");
    }

    /** ACL token; default none. */
    public Builder token(String token) {
      this.token = requireNonNull(token, "token");
      return this;
    }

    /** The address and port peers dial; address empty (the default) = the agent's node address. Required port. */
    public Builder endpoint(String serviceAddress, int port) {
      this.serviceAddress = requireNonNull(serviceAddress, "serviceAddress").strip();
      this.port = port;
      return this;
    }

    /** Region and tier ({@code private}, the default, or {@code public}). */
    public Builder placement(String region, String tier) {
      this.region = requireNonNull(region, "region");
      this.tier = requireNonNull(tier, "tier");
      return this;
    }

    /** The model served and its version (empty, the default, leaves the version out). */
    public Builder model(String model, String version) {
      this.model = requireNonNull(model, "model");
      this.version = requireNonNull(version, "version");
      return this;
    }

    /** Adds a fixed attribute, registered as meta and as a {@code key=value} tag. */
    public Builder meta(String key, String value) {
      extraMeta.put(requireNonNull(key, "key"), requireNonNull(value, "value"));
      return this;
    }

    /** What readiness means, e.g. {@code grpc.health.v1 SERVING}; default {@code ready}. */
    public Builder readiness(String readiness) {
      this.readiness = requireNonNull(readiness, "readiness");
      return this;
    }

    /** Report interval (default 10s) and how long a critical node stays registered (default 1m). */
    public Builder timing(Duration checkInterval, Duration deregisterAfter) {
      this.checkInterval = requireNonNull(checkInterval, "checkInterval");
      this.deregisterAfter = requireNonNull(deregisterAfter, "deregisterAfter");
      return this;
    }

    /** @throws IllegalArgumentException naming the first setting that is not valid */
    public RegistrationSettings build() {
      return new RegistrationSettings(consulAddress, token, serviceName, serviceId, serviceAddress, port, role,
          region, tier, model, version, extraMeta, readiness, checkInterval, deregisterAfter);
    }
  }
}
