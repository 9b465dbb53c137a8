package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The core this edge escalates to ({@code escalation} in {@code edge.yaml}). Built with {@link
 * #builder()}; validated when built, a broken rule names its key.
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
 * @param renew renewing the certificate in {@code tlsDir} from the signer ({@code escalation.tls.renew});
 *     empty: the files are rotated by something else
 * @param shadow mirror a sample of escalations to another model version and compare the answers;
 *     empty = off
 */
public record Escalation(Optional<String> target, Path tlsDir, String tlsName, Duration timeout, int maxAttempts,
    int failureRate, int window, Duration openFor, boolean fallback, Optional<Renewal> renew,
    Optional<Shadow> shadow) {
  /** No core; the defaults every other key starts from. */
  public static final Escalation NONE = new Builder().build();

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
    requireNonNull(renew, "escalation.tls.renew");
    requireNonNull(shadow, "escalation.shadow");
    if (shadow.isPresent() && target.isEmpty()) {
      throw new ConfigException("escalation.shadow", "mirrors escalations, so it needs escalation.target");
    }
  }

  /** Whether a core is configured. */
  public boolean enabled() {
    return target.isPresent();
  }

  /** This section with {@code target} and the TLS files replaced (the {@code --core} flags). */
  public Escalation withTarget(String newTarget, Path newTlsDir, String newTlsName) {
    return toBuilder().target(newTarget).tls(newTlsDir, newTlsName).build();
  }

  /** Settings at {@link #NONE} until set. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these settings. */
  public Builder toBuilder() {
    return new Builder().target(target.orElse("")).tls(tlsDir, tlsName).timeout(timeout).maxAttempts(maxAttempts)
        .circuit(failureRate, window, openFor).fallback(fallback).renew(renew.orElse(null))
        .shadow(shadow.orElse(null));
  }

  /** Configures an {@link Escalation}; {@link #build()} checks every rule, naming the key. Not thread-safe. */
  public static final class Builder {
    private String target = "";
    private Path tlsDir = Path.of("certs");
    private String tlsName = "edge-0";
    private Duration timeout = Duration.ofSeconds(60);
    private int maxAttempts = 3;
    private int failureRate = 50;
    private int window = 10;
    private Duration openFor = Duration.ofSeconds(5);
    private boolean fallback = true;
    private Renewal renew;
    private Shadow shadow;

    private Builder() {}

    /** {@code escalation.target}; default empty: no core. */
    public Builder target(String target) {
      this.target = requireNonNull(target, "target");
      return this;
    }

    /** {@code escalation.tls.dir} and {@code .name}; default {@code certs} and {@code edge-0}. */
    public Builder tls(Path dir, String name) {
      this.tlsDir = dir;
      this.tlsName = name;
      return this;
    }

    /** {@code escalation.timeout}; default 60s. */
    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    /** {@code escalation.max_attempts}; default 3. */
    public Builder maxAttempts(int maxAttempts) {
      this.maxAttempts = maxAttempts;
      return this;
    }

    /**
     * {@code escalation.circuit}: {@code failure_rate} percent (default 50) of the last {@code
     * window} calls (default 10) opens it for {@code open_for} (default 5s).
     */
    public Builder circuit(int failureRate, int window, Duration openFor) {
      this.failureRate = failureRate;
      this.window = window;
      this.openFor = openFor;
      return this;
    }

    /** {@code escalation.fallback}; default true. */
    public Builder fallback(boolean fallback) {
      this.fallback = fallback;
      return this;
    }

    /** {@code escalation.tls.renew}; default none ({@code null}: none). */
    public Builder renew(Renewal renew) {
      this.renew = renew;
      return this;
    }

    /** {@code escalation.shadow}; default none (null clears it). */
    public Builder shadow(Shadow shadow) {
      this.shadow = shadow;
      return this;
    }

    /** @throws ConfigException naming the first key whose value breaks its rule */
    public Escalation build() {
      return new Escalation(Optional.of(target), tlsDir, tlsName, timeout, maxAttempts, failureRate, window, openFor,
          fallback, Optional.ofNullable(renew), Optional.ofNullable(shadow));
    }
  }
}
