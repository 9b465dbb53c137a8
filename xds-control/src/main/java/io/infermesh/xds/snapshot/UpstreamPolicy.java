package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * How the data plane treats upstream endpoints: connection timeout, load balancing, outlier
 * ejection, circuit breakers, retries and (Envoy only) active health checks. One policy for every
 * service; the records nest so {@code mesh.yaml} reads the same way.
 */
public record UpstreamPolicy(
    Duration connectTimeout,
    LbPolicy lbPolicy,
    OutlierSettings outlier,
    CircuitBreakerSettings circuitBreakers,
    RetrySettings retries,
    HealthCheckSettings healthChecks) {

  public UpstreamPolicy {
    requireNonNull(connectTimeout, "connectTimeout");
    requireNonNull(lbPolicy, "lbPolicy");
    requireNonNull(outlier, "outlier");
    requireNonNull(circuitBreakers, "circuitBreakers");
    requireNonNull(retries, "retries");
    requireNonNull(healthChecks, "healthChecks");
    if (connectTimeout.isNegative() || connectTimeout.isZero()) {
      throw new IllegalArgumentException("upstream.connect_timeout must be positive, was " + connectTimeout);
    }
  }

  /** The defaults documented in {@code deploy/mesh.yaml}. */
  public static UpstreamPolicy defaults() {
    return new UpstreamPolicy(
        Duration.ofSeconds(2),
        LbPolicy.ROUND_ROBIN,
        OutlierSettings.defaults(),
        CircuitBreakerSettings.defaults(),
        RetrySettings.defaults(),
        HealthCheckSettings.defaults());
  }

  public UpstreamPolicy withLbPolicy(LbPolicy newPolicy) {
    return new UpstreamPolicy(connectTimeout, newPolicy, outlier, circuitBreakers, retries, healthChecks);
  }

  public UpstreamPolicy withRetries(RetrySettings newRetries) {
    return new UpstreamPolicy(connectTimeout, lbPolicy, outlier, circuitBreakers, newRetries, healthChecks);
  }

  /** Load-balancing inside a locality. */
  public enum LbPolicy {
    ROUND_ROBIN,
    LEAST_REQUEST;

    public static LbPolicy parse(String text) {
      try {
        return valueOf(text.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException | NullPointerException e) {
        throw new IllegalArgumentException(
            "upstream.lb_policy must be round_robin or least_request, was '" + text + "'");
      }
    }
  }

  /**
   * Passive health: eject endpoints that fail. Envoy uses consecutive 5xx and failure percentage.
   *
   * <p>{@code proxyless} (default false) also sends it to proxyless gRPC clients, which read the
   * failure-percentage fields. It is off by default because grpc-java 1.85's outlier-detection
   * balancer can lose a call when an EDS update changes the endpoints while the call is in flight
   * (a NullPointerException in its stream tracer shuts the transport down and the call never
   * completes, deadline included); turn it on once the clients run a fixed grpc-java.
   */
  public record OutlierSettings(
      boolean proxyless,
      int consecutive5xx,
      Duration interval,
      Duration baseEjectionTime,
      int maxEjectionPercent,
      int failurePercentageThreshold,
      int failurePercentageMinimumHosts,
      int failurePercentageRequestVolume) {

    public OutlierSettings {
      requireNonNull(interval, "interval");
      requireNonNull(baseEjectionTime, "baseEjectionTime");
      positive("upstream.outlier.consecutive_5xx", consecutive5xx);
      positive("upstream.outlier.interval", interval);
      positive("upstream.outlier.base_ejection_time", baseEjectionTime);
      percent("upstream.outlier.max_ejection_percent", maxEjectionPercent);
      percent("upstream.outlier.failure_percentage_threshold", failurePercentageThreshold);
      positive("upstream.outlier.failure_percentage_minimum_hosts", failurePercentageMinimumHosts);
      positive("upstream.outlier.failure_percentage_request_volume", failurePercentageRequestVolume);
    }

    public static OutlierSettings defaults() {
      return new OutlierSettings(false, 5, Duration.ofSeconds(5), Duration.ofSeconds(30), 50, 50, 2, 20);
    }
  }

  /** Per-cluster limits; past them Envoy answers 503 at once instead of queueing. */
  public record CircuitBreakerSettings(
      int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries) {

    public CircuitBreakerSettings {
      positive("upstream.circuit_breakers.max_connections", maxConnections);
      positive("upstream.circuit_breakers.max_pending_requests", maxPendingRequests);
      positive("upstream.circuit_breakers.max_requests", maxRequests);
      positive("upstream.circuit_breakers.max_retries", maxRetries);
    }

    public static CircuitBreakerSettings defaults() {
      return new CircuitBreakerSettings(1024, 1024, 1024, 3);
    }
  }

  /**
   * Retries of failed attempts, on another host when Envoy can. {@code retry_on} takes Envoy's
   * names ({@code connect-failure}, {@code refused-stream}, {@code reset}, {@code unavailable},
   * {@code resource-exhausted}, ...); proxyless gRPC keeps the gRPC status names among them.
   */
  public record RetrySettings(
      List<String> retryOn, int numRetries, Duration baseInterval, Duration maxInterval) {

    /** The retry conditions proxyless gRPC understands (gRFC A44). */
    public static final List<String> GRPC_CONDITIONS =
        List.of("cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable");

    public RetrySettings {
      requireNonNull(retryOn, "retryOn");
      requireNonNull(baseInterval, "baseInterval");
      requireNonNull(maxInterval, "maxInterval");
      retryOn = List.copyOf(retryOn);
      for (String condition : retryOn) {
        if (!condition.matches("[a-z0-9-]+")) {
          throw new IllegalArgumentException("upstream.retries.retry_on has an invalid condition '" + condition + "'");
        }
      }
      if (numRetries < 0 || numRetries > 10) {
        throw new IllegalArgumentException("upstream.retries.num_retries must be 0..10, was " + numRetries);
      }
      positive("upstream.retries.base_interval", baseInterval);
      if (maxInterval.compareTo(baseInterval) < 0) {
        throw new IllegalArgumentException("upstream.retries.max_interval must be >= base_interval");
      }
    }

    public static RetrySettings defaults() {
      return new RetrySettings(List.of("connect-failure", "refused-stream", "reset", "unavailable"),
          2, Duration.ofMillis(25), Duration.ofMillis(250));
    }

    /** The conditions a proxyless gRPC client acts on. */
    public List<String> grpcRetryOn() {
      return retryOn.stream().filter(GRPC_CONDITIONS::contains).toList();
    }
  }

  /** Envoy's active health checks ({@code grpc.health.v1} or {@code GET /healthz}). */
  public record HealthCheckSettings(
      boolean enabled, Duration interval, Duration timeout, int unhealthyThreshold, int healthyThreshold) {

    public HealthCheckSettings {
      requireNonNull(interval, "interval");
      requireNonNull(timeout, "timeout");
      positive("upstream.health_checks.interval", interval);
      positive("upstream.health_checks.timeout", timeout);
      positive("upstream.health_checks.unhealthy_threshold", unhealthyThreshold);
      positive("upstream.health_checks.healthy_threshold", healthyThreshold);
    }

    public static HealthCheckSettings defaults() {
      return new HealthCheckSettings(true, Duration.ofSeconds(5), Duration.ofSeconds(1), 3, 2);
    }
  }

  private static void positive(String key, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(key + " must be positive, was " + value);
    }
  }

  private static void positive(String key, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(key + " must be positive, was " + value);
    }
  }

  private static void percent(String key, int value) {
    if (value < 0 || value > 100) {
      throw new IllegalArgumentException(key + " must be 0..100, was " + value);
    }
  }
}
