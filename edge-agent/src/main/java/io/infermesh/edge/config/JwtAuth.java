package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * {@code auth.jwt}: bearer JWTs accepted beside the API keys, validated against a JWKS (a file, or
 * an HTTPS URL trusted by the JVM's CA store) with issuer, audience, {@code exp}, {@code nbf} and a
 * clock skew; claims name the tenant, its priority ceiling and its privacy policy. Immutable.
 *
 * @param jwksFile the JWKS file (exactly one of this and {@code jwksUrl})
 * @param jwksUrl the JWKS HTTPS URL
 * @param issuer the {@code iss} every token must carry
 * @param audience a value the token's {@code aud} must hold
 * @param clockSkew the clock difference allowed with the issuer, at most 5 min (default 30 s)
 * @param refresh how often the key set is re-read (default 5 min); an unknown {@code kid} re-reads
 *     it at most every 30 s
 * @param tenantClaim the claim naming the tenant (required in every token; default {@code tenant})
 * @param priorityClaim the claim naming the priority ceiling, {@code high|normal|low} (default {@code
 *     priority})
 * @param privacyClaim the claim naming the privacy policy (default {@code privacy_policy})
 */
public record JwtAuth(Optional<Path> jwksFile, Optional<URI> jwksUrl, String issuer, String audience,
    Duration clockSkew, Duration refresh, String tenantClaim, String priorityClaim, String privacyClaim) {
  public static final Duration DEFAULT_SKEW = Duration.ofSeconds(30);
  public static final Duration DEFAULT_REFRESH = Duration.ofMinutes(5);

  public JwtAuth {
    requireNonNull(jwksFile, "auth.jwt.jwks_file");
    requireNonNull(jwksUrl, "auth.jwt.jwks_url");
    if (jwksFile.isPresent() == jwksUrl.isPresent()) {
      throw new ConfigException("auth.jwt.jwks_file", "set exactly one of jwks_file and jwks_url");
    }
    jwksUrl.ifPresent(u -> {
      if (!"https".equals(u.getScheme()) || u.getHost() == null) {
        throw new ConfigException("auth.jwt.jwks_url", "must be an https:// URL, got " + u);
      }
    });
    nonBlank("auth.jwt.issuer", issuer);
    nonBlank("auth.jwt.audience", audience);
    requireNonNull(clockSkew, "auth.jwt.clock_skew");
    if (clockSkew.isNegative() || clockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
      throw new ConfigException("auth.jwt.clock_skew", "must be in [0s, 5m], got " + clockSkew);
    }
    EdgeConfig.requirePositive("auth.jwt.refresh", refresh);
    nonBlank("auth.jwt.tenant_claim", tenantClaim);
    nonBlank("auth.jwt.priority_claim", priorityClaim);
    nonBlank("auth.jwt.privacy_claim", privacyClaim);
  }

  private static void nonBlank(String key, String value) {
    if (value == null || value.isBlank()) {
      throw new ConfigException(key, "must be set");
    }
  }

  /** A configuration for tokens from {@code issuer} to {@code audience}; a JWKS source must be set. */
  public static Builder builder(String issuer, String audience) {
    return new Builder(issuer, audience);
  }

  /** Not thread-safe; {@link #build()} checks every rule, naming the key. */
  public static final class Builder {
    private final String issuer;
    private final String audience;
    private Optional<Path> jwksFile = Optional.empty();
    private Optional<URI> jwksUrl = Optional.empty();
    private Duration clockSkew = DEFAULT_SKEW;
    private Duration refresh = DEFAULT_REFRESH;
    private String tenantClaim = "tenant";
    private String priorityClaim = "priority";
    private String privacyClaim = "privacy_policy";

    private Builder(String issuer, String audience) {
      this.issuer = issuer;
      this.audience = audience;
    }

    /** {@code jwks_file}. */
    public Builder jwksFile(Path file) {
      this.jwksFile = Optional.of(file);
      return this;
    }

    /** {@code jwks_url}. */
    public Builder jwksUrl(URI url) {
      this.jwksUrl = Optional.of(url);
      return this;
    }

    /** {@code clock_skew}; default 30 s. */
    public Builder clockSkew(Duration skew) {
      this.clockSkew = skew;
      return this;
    }

    /** {@code refresh}; default 5 min. */
    public Builder refresh(Duration interval) {
      this.refresh = interval;
      return this;
    }

    /** {@code tenant_claim}, {@code priority_claim}, {@code privacy_claim}. */
    public Builder claims(String tenant, String priority, String privacy) {
      this.tenantClaim = tenant;
      this.priorityClaim = priority;
      this.privacyClaim = privacy;
      return this;
    }

    public JwtAuth build() {
      return new JwtAuth(jwksFile, jwksUrl, issuer, audience, clockSkew, refresh, tenantClaim, priorityClaim,
          privacyClaim);
    }
  }
}
