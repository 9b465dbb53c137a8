package io.infermesh.core.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import java.time.Duration;
import java.util.Optional;

/**
 * The {@code leases:} section of {@code core.yaml}: whether this core grants edge devices signed
 * token budgets to spend while they cannot reach it ({@code infermesh.v1.Leases}), how large and
 * how long. Off by default. Immutable; built with {@link #builder()}.
 *
 * @param enabled whether the Leases service answers (else FAILED_PRECONDITION)
 * @param signing the identity whose key signs leases (a mesh certificate, role core); empty: the
 *     node's own ({@code tls})
 * @param maxTokensPerGrant the most tokens one grant may hold; a larger request gets this many
 * @param validity how long a lease is valid from its grant (capped by the signing certificate's own expiry)
 * @param clockSkew how far a device's clock may run behind the core's: a lease's spend is final
 *     only for a report that arrives this long after it expired
 * @param maxOpenPerDevice the most unexpired leases one device may hold for one tenant
 */
public record Leases(boolean enabled, Optional<CoreConfig.Tls> signing, long maxTokensPerGrant, Duration validity,
    Duration clockSkew, int maxOpenPerDevice) {

  public Leases {
    requireNonNull(signing, "leases.signing");
    if (maxTokensPerGrant < 1) {
      throw new ConfigException("leases.max_tokens_per_grant", "must be at least 1, got " + maxTokensPerGrant);
    }
    requireNonNull(validity, "leases.validity");
    if (validity.isNegative() || validity.isZero()) {
      throw new ConfigException("leases.validity", "must be positive, got " + validity);
    }
    requireNonNull(clockSkew, "leases.clock_skew");
    if (clockSkew.isNegative()) {
      throw new ConfigException("leases.clock_skew", "must not be negative, got " + clockSkew);
    }
    if (maxOpenPerDevice < 1) {
      throw new ConfigException("leases.max_open_per_device", "must be at least 1, got " + maxOpenPerDevice);
    }
  }

  /** Off; the defaults of {@code deploy/core.yaml} otherwise. */
  public static Leases off() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Not thread-safe; {@link #build()} validates. */
  public static final class Builder {
    private boolean enabled;
    private Optional<CoreConfig.Tls> signing = Optional.empty();
    private long maxTokensPerGrant = 100_000;
    private Duration validity = Duration.ofHours(24);
    private Duration clockSkew = Duration.ofMinutes(5);
    private int maxOpenPerDevice = 4;

    private Builder() {}

    public Builder enabled(boolean on) {
      this.enabled = on;
      return this;
    }

    /** Signs with the identity {@code tls} names instead of the node's own. */
    public Builder signing(CoreConfig.Tls tls) {
      this.signing = Optional.of(requireNonNull(tls, "tls"));
      return this;
    }

    public Builder maxTokensPerGrant(long tokens) {
      this.maxTokensPerGrant = tokens;
      return this;
    }

    public Builder validity(Duration validity) {
      this.validity = validity;
      return this;
    }

    public Builder clockSkew(Duration skew) {
      this.clockSkew = skew;
      return this;
    }

    public Builder maxOpenPerDevice(int leases) {
      this.maxOpenPerDevice = leases;
      return this;
    }

    public Leases build() {
      return new Leases(enabled, signing, maxTokensPerGrant, validity, clockSkew, maxOpenPerDevice);
    }
  }
}
