package io.infermesh.node.telemetry;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.ConfigSection;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Optional;

/**
 * A process's {@code telemetry:} section, the same keys in {@code edge.yaml} and {@code core.yaml}:
 * where finished spans go and how many traces are kept. Off by default: with no {@code
 * otlp.endpoint} the process traces nothing and starts no exporter ({@link Tracing#start}). Immutable.
 *
 * @param otlpEndpoint the OTLP/HTTP (protobuf) traces URL of a collector, e.g. {@code
 *     http://127.0.0.1:4318/v1/traces}; empty turns tracing off
 * @param serviceName the {@code service.name} of this process's spans
 * @param sampleRatio the share of new traces kept, 0..1; a trace started by a caller keeps its
 *     caller's decision (parent-based)
 * @param exportInterval how long finished spans wait to be sent in a batch
 */
public record TelemetryConfig(Optional<URI> otlpEndpoint, String serviceName, double sampleRatio,
    Duration exportInterval) {

  /** The default batch delay: the SDK's own. */
  public static final Duration DEFAULT_EXPORT_INTERVAL = Duration.ofSeconds(5);

  public TelemetryConfig {
    requireNonNull(otlpEndpoint, "otlpEndpoint");
    requireNonNull(serviceName, "serviceName");
    requireNonNull(exportInterval, "exportInterval");
    if (serviceName.isBlank()) {
      throw new IllegalArgumentException("telemetry.service_name must not be blank");
    }
    if (!(sampleRatio >= 0 && sampleRatio <= 1)) {
      throw new IllegalArgumentException("telemetry.sample_ratio must be in [0, 1], was " + sampleRatio);
    }
    if (exportInterval.isNegative() || exportInterval.isZero()) {
      throw new IllegalArgumentException("telemetry.otlp.export_interval must be positive, was " + exportInterval);
    }
    otlpEndpoint.ifPresent(TelemetryConfig::checkEndpoint);
  }

  /** Tracing off, spans (were they on) named {@code serviceName}, every trace kept. */
  public static TelemetryConfig off(String serviceName) {
    return new TelemetryConfig(Optional.empty(), serviceName, 1.0, DEFAULT_EXPORT_INTERVAL);
  }

  /** Whether spans are recorded and exported. */
  public boolean enabled() {
    return otlpEndpoint.isPresent();
  }

  /** This configuration exporting to {@code endpoint}. */
  public TelemetryConfig withEndpoint(URI endpoint) {
    return new TelemetryConfig(Optional.of(endpoint), serviceName, sampleRatio, exportInterval);
  }

  /** This configuration sending batches every {@code interval}. */
  public TelemetryConfig withExportInterval(Duration interval) {
    return new TelemetryConfig(otlpEndpoint, serviceName, sampleRatio, interval);
  }

  /** This configuration keeping {@code ratio} of new traces. */
  public TelemetryConfig withSampleRatio(double ratio) {
    return new TelemetryConfig(otlpEndpoint, serviceName, ratio, exportInterval);
  }

  private static void checkEndpoint(URI endpoint) {
    String scheme = endpoint.getScheme();
    if (!"http".equals(scheme) && !"https".equals(scheme) || endpoint.getHost() == null) {
      throw new IllegalArgumentException("telemetry.otlp.endpoint must be an http:// or https:// URL with a host, "
          + "e.g. http://127.0.0.1:4318/v1/traces, was " + endpoint);
    }
  }

  /**
   * Reads the {@code telemetry} section {@code s}: {@code otlp.endpoint}, {@code
   * otlp.export_interval}, {@code service_name} and {@code sample_ratio}; a missing key keeps the
   * value of {@code defaults}, any other key is refused.
   *
   * @throws ConfigException naming the full key (e.g. {@code telemetry.otlp.endpoint})
   */
  public static TelemetryConfig read(ConfigSection s, TelemetryConfig defaults) {
    ConfigSection otlp = s.section("otlp");
    String endpoint = otlp.string("endpoint", defaults.otlpEndpoint.map(URI::toString).orElse(""));
    Optional<URI> uri = Optional.empty();
    if (!endpoint.isBlank()) {
      try {
        uri = Optional.of(new URI(endpoint.trim()));
      } catch (URISyntaxException e) {
        throw new ConfigException(otlp.key("endpoint"), "is not a URL: " + e.getMessage());
      }
    }
    Optional<URI> chosen = uri;
    Duration interval = otlp.duration("export_interval", defaults.exportInterval);
    String serviceName = s.string("service_name", defaults.serviceName);
    double ratio = s.number("sample_ratio", defaults.sampleRatio);
    otlp.finish();
    s.finish();
    return s.build(() -> new TelemetryConfig(chosen, serviceName, ratio, interval)); // its messages name the key
  }
}
