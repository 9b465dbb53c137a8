package io.infermesh.edge.auth.jwt;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.infermesh.edge.engine.Priority;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Validates bearer JWTs: compact JWS, {@code RS256} (RSA ≥ 2048 bits) or {@code ES256} (P-256), key
 * by {@code kid} from a {@link JwksCache}, then {@code iss}, {@code aud}, {@code exp} (required) and
 * {@code nbf} against the injected clock with {@code clockSkew} either way, then the claim mapping:
 * the tenant claim (required, a string), the priority ceiling ({@code high|normal|low}, optional) and
 * the privacy policy name (optional). The signature is checked before any claim is believed.
 *
 * <p>Checks, in order, with the failure each one gives: length ≤ 16 KiB and compact form ({@code
 * malformed}); {@code alg: none} ({@code alg_none}); other algorithms and JWE ({@code
 * unsupported_alg}); the key ({@code unknown_kid}; a token without {@code kid} uses the set's only key
 * of the right type); key type, curve, size, {@code use} and {@code alg} fit the token's algorithm,
 * and the signature verifies ({@code bad_signature}); {@code iss}; {@code aud}; {@code exp}; {@code
 * nbf}; claims ({@code bad_claim}).
 *
 * <p>Immutable and thread-safe.
 */
public final class JwtValidator {
  /** The longest token read; real ones are well under 2 KB. */
  public static final int MAX_TOKEN_CHARS = 16 * 1024;
  private static final Set<JWSAlgorithm> ALLOWED = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256);

  private final JwksCache keys;
  private final String issuer;
  private final String audience;
  private final Clock clock;
  private final Duration skew;
  private final String tenantClaim;
  private final String priorityClaim;
  private final String privacyClaim;

  private JwtValidator(Builder b) {
    this.keys = requireNonNull(b.keys, "keys");
    this.issuer = requireNonNull(b.issuer, "issuer");
    this.audience = requireNonNull(b.audience, "audience");
    this.clock = b.clock;
    this.skew = b.skew;
    this.tenantClaim = b.tenantClaim;
    this.priorityClaim = b.priorityClaim;
    this.privacyClaim = b.privacyClaim;
  }

  /** A validator for tokens from {@code issuer} meant for {@code audience}, with keys from {@code keys}. */
  public static Builder builder(JwksCache keys, String issuer, String audience) {
    return new Builder(keys, issuer, audience);
  }

  /** Validates {@code token} (without the {@code Bearer } prefix). */
  public JwtResult validate(String token) {
    requireNonNull(token, "token");
    if (token.length() > MAX_TOKEN_CHARS) {
      return invalid(JwtFailure.MALFORMED);
    }
    JWT jwt;
    try {
      jwt = JWTParser.parse(token);
    } catch (ParseException e) {
      return invalid(JwtFailure.MALFORMED);
    }
    if (jwt instanceof PlainJWT) {
      return invalid(JwtFailure.ALG_NONE);
    }
    if (!(jwt instanceof SignedJWT signed)) {
      return invalid(JwtFailure.UNSUPPORTED_ALG); // JWE
    }
    JWSHeader header = signed.getHeader();
    if (!ALLOWED.contains(header.getAlgorithm())) {
      return invalid(JwtFailure.UNSUPPORTED_ALG);
    }
    Optional<JWK> key = key(header);
    if (key.isEmpty()) {
      return invalid(JwtFailure.UNKNOWN_KID);
    }
    if (!verifies(signed, header.getAlgorithm(), key.get())) {
      return invalid(JwtFailure.BAD_SIGNATURE);
    }
    JWTClaimsSet claims;
    try {
      claims = signed.getJWTClaimsSet();
    } catch (ParseException e) {
      return invalid(JwtFailure.MALFORMED);
    }
    return checkClaims(claims);
  }

  private Optional<JWK> key(JWSHeader header) {
    String kid = header.getKeyID();
    if (kid != null) {
      return keys.keyRefreshingIfUnknown(kid);
    }
    List<JWK> fitting = keys.keys().getKeys().stream()
        .filter(k -> header.getAlgorithm().equals(JWSAlgorithm.RS256) ? k instanceof RSAKey : k instanceof ECKey)
        .toList();
    return fitting.size() == 1 ? Optional.of(fitting.get(0)) : Optional.empty();
  }

  private static boolean verifies(SignedJWT jwt, JWSAlgorithm alg, JWK key) {
    if (key.getKeyUse() != null && !KeyUse.SIGNATURE.equals(key.getKeyUse())) {
      return false;
    }
    if (key.getAlgorithm() != null && !key.getAlgorithm().equals(alg)) {
      return false; // the key is for another algorithm: no algorithm confusion
    }
    try {
      JWSVerifier verifier;
      if (alg.equals(JWSAlgorithm.RS256)) {
        if (!(key instanceof RSAKey rsa) || rsa.size() < 2048) {
          return false;
        }
        verifier = new RSASSAVerifier(rsa);
      } else {
        if (!(key instanceof ECKey ec) || !Curve.P_256.equals(ec.getCurve())) {
          return false;
        }
        verifier = new ECDSAVerifier(ec);
      }
      return jwt.verify(verifier);
    } catch (JOSEException | IllegalStateException e) {
      return false;
    }
  }

  private JwtResult checkClaims(JWTClaimsSet claims) {
    if (!issuer.equals(claims.getIssuer())) {
      return invalid(JwtFailure.WRONG_ISSUER);
    }
    if (claims.getAudience() == null || !claims.getAudience().contains(audience)) {
      return invalid(JwtFailure.WRONG_AUDIENCE);
    }
    if (claims.getExpirationTime() == null) {
      return invalid(JwtFailure.MALFORMED);
    }
    Instant now = clock.instant();
    Instant exp = claims.getExpirationTime().toInstant();
    if (!now.isBefore(exp.plus(skew))) {
      return invalid(JwtFailure.EXPIRED);
    }
    if (claims.getNotBeforeTime() != null && now.plus(skew).isBefore(claims.getNotBeforeTime().toInstant())) {
      return invalid(JwtFailure.NOT_YET_VALID);
    }
    try {
      String tenant = claims.getStringClaim(tenantClaim);
      if (tenant == null || tenant.isBlank()) {
        return invalid(JwtFailure.BAD_CLAIM);
      }
      Optional<Priority> ceiling = Optional.empty();
      String priority = claims.getStringClaim(priorityClaim);
      if (priority != null) {
        ceiling = Priority.parse(priority);
        if (ceiling.isEmpty()) {
          return invalid(JwtFailure.BAD_CLAIM);
        }
      }
      Optional<String> privacy = Optional.ofNullable(claims.getStringClaim(privacyClaim));
      String subject = claims.getSubject() == null ? "" : claims.getSubject();
      return new JwtResult.Valid(new JwtIdentity(subject, issuer, tenant, ceiling, privacy, exp));
    } catch (ParseException e) { // a mapped claim that is not a string
      return invalid(JwtFailure.BAD_CLAIM);
    }
  }

  private static JwtResult invalid(JwtFailure failure) {
    return new JwtResult.Invalid(failure);
  }

  /** Not thread-safe; build once. */
  public static final class Builder {
    private final JwksCache keys;
    private final String issuer;
    private final String audience;
    private Clock clock = Clock.systemUTC();
    private Duration skew = Duration.ofSeconds(30);
    private String tenantClaim = "tenant";
    private String priorityClaim = "priority";
    private String privacyClaim = "privacy_policy";

    private Builder(JwksCache keys, String issuer, String audience) {
      this.keys = requireNonNull(keys, "keys");
      this.issuer = nonBlank(issuer, "issuer");
      this.audience = nonBlank(audience, "audience");
    }

    /** The clock {@code exp} and {@code nbf} are checked against (default UTC system clock). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** Allowed clock difference with the issuer, either way (default 30 s, at most 5 min). */
    public Builder clockSkew(Duration skew) {
      requireNonNull(skew, "skew");
      if (skew.isNegative() || skew.compareTo(Duration.ofMinutes(5)) > 0) {
        throw new IllegalArgumentException("clock skew must be between 0 and 5 minutes, got " + skew);
      }
      this.skew = skew;
      return this;
    }

    /** The claim holding the tenant (default {@code tenant}). */
    public Builder tenantClaim(String name) {
      this.tenantClaim = nonBlank(name, "tenant claim");
      return this;
    }

    /** The claim holding the priority ceiling (default {@code priority}). */
    public Builder priorityClaim(String name) {
      this.priorityClaim = nonBlank(name, "priority claim");
      return this;
    }

    /** The claim holding the privacy policy name (default {@code privacy_policy}). */
    public Builder privacyClaim(String name) {
      this.privacyClaim = nonBlank(name, "privacy claim");
      return this;
    }

    public JwtValidator build() {
      return new JwtValidator(this);
    }

    private static String nonBlank(String value, String what) {
      if (requireNonNull(value, what).isBlank()) {
        throw new IllegalArgumentException(what + " must not be blank");
      }
      return value;
    }
  }
}
