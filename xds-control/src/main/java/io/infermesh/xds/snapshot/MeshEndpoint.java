package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * One serving instance of a mesh service, as discovery reports it.
 *
 * @param service the mesh service it serves, e.g. {@code core-inference}
 * @param id unique id of the instance (Consul service id, or {@code host:port})
 * @param host IP address or host name the data plane connects to
 * @param port TCP port, 1..65535
 * @param region the region it runs in, e.g. {@code eu-west}
 * @param zone the zone inside the region; empty when unknown
 * @param tier private capacity or public-cloud burst capacity
 * @param model the model it serves (informational; routing is by service and version)
 * @param version the model version it serves, e.g. {@code v1}; canaries and pins select on it
 * @param health whether it may take traffic
 * @param utilization load reported by the node, 0 = idle, 1 = saturated (may exceed 1 when queued)
 * @param metricsPort the node's Prometheus {@code /metrics} port on {@code host} (plain HTTP), which
 *     canary rollouts scrape; 0 when unknown
 */
public record MeshEndpoint(
    String service,
    String id,
    String host,
    int port,
    String region,
    String zone,
    Tier tier,
    String model,
    String version,
    EndpointHealth health,
    double utilization,
    int metricsPort) {

  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final Pattern VERSION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  /** Validates every field; messages name the field. */
  public MeshEndpoint {
    requireNonNull(service, "service");
    requireNonNull(id, "id");
    requireNonNull(host, "host");
    requireNonNull(region, "region");
    requireNonNull(zone, "zone");
    requireNonNull(tier, "tier");
    requireNonNull(model, "model");
    requireNonNull(version, "version");
    requireNonNull(health, "health");
    checkName("service", service);
    checkName("region", region);
    if (!zone.isEmpty()) {
      checkName("zone", zone);
    }
    if (id.isBlank()) {
      throw new IllegalArgumentException("id must not be blank");
    }
    if (host.isBlank()) {
      throw new IllegalArgumentException("host must not be blank (endpoint " + id + ")");
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("port must be 1..65535, was " + port + " (endpoint " + id + ")");
    }
    if (!VERSION.matcher(version).matches()) {
      throw new IllegalArgumentException(
          "version must match " + VERSION + ", was '" + version + "' (endpoint " + id + ")");
    }
    if (metricsPort < 0 || metricsPort > 65_535) {
      throw new IllegalArgumentException("metrics_port must be 0..65535, was " + metricsPort + " (endpoint " + id + ")");
    }
    if (!(utilization >= 0) || Double.isInfinite(utilization)) {
      throw new IllegalArgumentException(
          "utilization must be a finite number >= 0, was " + utilization + " (endpoint " + id + ")");
    }
  }

  /** Whether {@code text} is a valid service, region or zone name (DNS label). */
  public static boolean isValidName(String text) {
    return text != null && NAME.matcher(text).matches();
  }

  /** Whether {@code text} is a valid model version. */
  public static boolean isValidVersion(String text) {
    return text != null && VERSION.matcher(text).matches();
  }

  private static void checkName(String field, String value) {
    if (!isValidName(value)) {
      throw new IllegalArgumentException(
          field + " must be a DNS label (lower-case letters, digits, '-'), was '" + value + "'");
    }
  }

  /** The locality this endpoint belongs to. */
  public MeshLocality locality() {
    return new MeshLocality(region, zone);
  }

  /** A copy with another health. */
  public MeshEndpoint withHealth(EndpointHealth newHealth) {
    return new MeshEndpoint(service, id, host, port, region, zone, tier, model, version, newHealth, utilization,
        metricsPort);
  }

  /** A copy with another utilization. */
  public MeshEndpoint withUtilization(double newUtilization) {
    return new MeshEndpoint(service, id, host, port, region, zone, tier, model, version, health, newUtilization,
        metricsPort);
  }

  /** A builder with defaults: zone empty, tier private, model = service, version {@code v1}, healthy, idle. */
  public static Builder builder(String service, String host, int port, String region) {
    return new Builder(service, host, port, region);
  }

  /** Builds a {@link MeshEndpoint}; not thread-safe. */
  public static final class Builder {
    private final String service;
    private final String host;
    private final int port;
    private final String region;
    private String id;
    private String zone = "";
    private Tier tier = Tier.PRIVATE;
    private String model;
    private String version = "v1";
    private EndpointHealth health = EndpointHealth.HEALTHY;
    private double utilization;
    private int metricsPort;

    private Builder(String service, String host, int port, String region) {
      this.service = requireNonNull(service, "service");
      this.host = requireNonNull(host, "host");
      this.port = port;
      this.region = requireNonNull(region, "region");
      this.model = service;
    }

    /** Instance id; defaults to {@code host:port}. */
    public Builder id(String value) {
      this.id = requireNonNull(value, "id");
      return this;
    }

    public Builder zone(String value) {
      this.zone = requireNonNull(value, "zone");
      return this;
    }

    public Builder tier(Tier value) {
      this.tier = requireNonNull(value, "tier");
      return this;
    }

    public Builder model(String value) {
      this.model = requireNonNull(value, "model");
      return this;
    }

    public Builder version(String value) {
      this.version = requireNonNull(value, "version");
      return this;
    }

    public Builder health(EndpointHealth value) {
      this.health = requireNonNull(value, "health");
      return this;
    }

    public Builder utilization(double value) {
      this.utilization = value;
      return this;
    }

    /** The node's Prometheus {@code /metrics} port; default 0 (unknown, not scraped). */
    public Builder metricsPort(int value) {
      this.metricsPort = value;
      return this;
    }

    public MeshEndpoint build() {
      String resolvedId = id != null ? id : host + ":" + port;
      return new MeshEndpoint(
          service, resolvedId, host, port, region, zone, tier, model, version, health, utilization, metricsPort);
    }
  }
}
