package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The core this edge escalates to ({@code escalation} in {@code edge.yaml}).
 *
 * @param target the gRPC target of the core: {@code host:port} (or {@code dns:///host:port}), a
 *     static list {@code a:1,b:2} (round robin), or {@code xds:///core-inference} (cores from the
 *     control plane; needs a grpc-xds bootstrap, see {@code deploy/edge.yaml}); empty means no core
 *     (every request stays local)
 * @param tlsDir holds {@code <tlsName>.crt}, {@code <tlsName>.key} and {@code ca.crt} (role edge)
 * @param tlsName the file name of this edge's certificate
 * @param timeout the deadline of an escalated call when the request states none
 * @param maxAttempts attempts per call on UNAVAILABLE (gRPC service-config retry policy), 1..5
 * @param failureRate circuit breaker: percent of failed calls in the window that opens it, 1..100
 * @param window circuit breaker: calls in the sliding window (also the minimum before it can open)
 * @param openFor circuit breaker: how long it stays open before letting trial calls through
 * @param fallback whether the edge finishes an answer locally when the core fails (before or mid-stream)
 */
public record Escalation(Optional<String> target, Path tlsDir, String tlsName, Duration timeout, int maxAttempts,
    int failureRate, int window, Duration openFor, boolean fallback) {
  public static final Escalation NONE = new Escalation(Optional.empty(), Path.of("certs"), "edge-0",
      Duration.ofSeconds(60), 3, 50, 10, Duration.ofSeconds(5), true);

  public Escalation {
    requireNonNull(target, "escalation.target");
    target = target.filter(t -> !t.isBlank());
    requireNonNull(tlsDir, "escalation.tls.dir");
    if (tlsName == null || tlsName.isBlank()) {
      throw new ConfigException("escalation.tls.name", "must not be empty");
    }
    requireNonNull(timeout, "escalation.timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new ConfigException("escalation.timeout", "must be positive, got " + timeout);
    }
    if (maxAttempts < 1 || maxAttempts > 5) {
      throw new ConfigException("escalation.max_attempts", "must be in 1..5, got " + maxAttempts);
    }
    if (failureRate < 1 || failureRate > 100) {
      throw new ConfigException("escalation.circuit.failure_rate", "must be a percentage in 1..100, got " + failureRate);
    }
    if (window < 1) {
      throw new ConfigException("escalation.circuit.window", "must be at least 1, got " + window);
    }
    requireNonNull(openFor, "escalation.circuit.open_for");
    if (openFor.isNegative() || openFor.isZero()) {
      throw new ConfigException("escalation.circuit.open_for", "must be positive, got " + openFor);
    }
  }

  /** Whether a core is configured. */
  public boolean enabled() {
    return target.isPresent();
  }

  /** This section with {@code target} and the TLS files replaced (the {@code --core} flags). */
  public Escalation withTarget(String newTarget, Path newTlsDir, String newTlsName) {
    return new Escalation(Optional.of(newTarget), newTlsDir, newTlsName, timeout, maxAttempts, failureRate, window,
        openFor, fallback);
  }
}
