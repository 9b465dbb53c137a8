package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.ApiKeys;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.auth.jwt.JwtIdentity;
import io.infermesh.edge.auth.jwt.JwtResult;
import io.infermesh.edge.auth.jwt.JwtValidator;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.metrics.EdgeMetrics;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Who sent a request, from its bearer credential: an API key ({@code auth.tenants[].keys}) or, when
 * {@code auth.jwt} is set, a JWT. A key is looked up first (a digest lookup); a token that is no
 * key and has the JWT's shape is validated by the {@link JwtValidator}, and its claims give the
 * tenant (with that tenant's configured rates, if it is listed), the caller ({@code jwt:SUBJECT}),
 * a priority ceiling and a privacy policy. The issuer that signs the tenant is trusted for the
 * policy too: it could name any tenant. Refusals are UNAUTHENTICATED, name the failure's class
 * ({@code expired}, {@code bad_signature}, …) and never the credential, and are counted in {@code
 * infermesh.edge.rejections} by reason ({@code unauthenticated}, {@code jwt_expired}, …).
 * Thread-safe.
 */
final class Authentication {
  private final ApiKeys keys;
  private final JwtValidator jwt;
  private final Map<String, EdgeConfig.Tenant> listed;
  private final Predicate<String> knownPolicy;
  private final EdgeMetrics metrics;

  Authentication(ApiKeys keys, Optional<JwtValidator> jwt, EdgeConfig.Auth auth, Predicate<String> knownPolicy,
      EdgeMetrics metrics) {
    this.keys = requireNonNull(keys, "keys");
    this.jwt = jwt.orElse(null);
    this.listed = auth.tenants().stream().collect(Collectors.toUnmodifiableMap(EdgeConfig.Tenant::name,
        Function.identity()));
    this.knownPolicy = requireNonNull(knownPolicy, "knownPolicy");
    this.metrics = requireNonNull(metrics, "metrics");
  }

  /**
   * The tenant of an {@code Authorization} header value; {@link Tenant#ANONYMOUS} when neither keys
   * nor JWTs are configured.
   *
   * @throws EdgeException UNAUTHENTICATED for a missing, unknown or invalid credential
   */
  Tenant authenticate(String authorization) {
    if (!keys.enabled() && jwt == null) {
      return Tenant.ANONYMOUS;
    }
    Optional<String> credential = ApiKeys.bearerToken(authorization);
    if (credential.isEmpty()) {
      throw refused("unauthenticated", null,
          "You didn't provide an API key. Send it as a bearer token: 'Authorization: Bearer YOUR_KEY'.");
    }
    Optional<Tenant> byKey = keys.tenantOf(credential.get());
    if (byKey.isPresent()) {
      return byKey.get();
    }
    if (jwt == null || !looksLikeJwt(credential.get())) {
      throw refused("unauthenticated", "invalid_api_key", "Incorrect API key provided.");
    }
    JwtResult result = jwt.validate(credential.get());
    if (result instanceof JwtResult.Invalid invalid) {
      String why = invalid.failure().code();
      throw refused("jwt_" + why, "invalid_token", "The bearer token was refused: " + why + ".");
    }
    return tenantOf(((JwtResult.Valid) result).identity());
  }

  private Tenant tenantOf(JwtIdentity id) {
    if (id.privacyPolicy().isPresent() && !knownPolicy.test(id.privacyPolicy().get())) {
      throw refused("jwt_bad_claim", "invalid_token", "The bearer token was refused: bad_claim (it names a privacy"
          + " policy this edge does not define).");
    }
    EdgeConfig.Tenant config = listed.get(id.tenant());
    long rpm = config == null ? 0 : config.requestsPerMinute();
    long tpm = config == null ? 0 : config.tokensPerMinute();
    return new Tenant(id.tenant(), rpm, tpm, "jwt:" + id.subject(), id.priorityCeiling(), id.privacyPolicy());
  }

  private EdgeException refused(String reason, String code, String message) {
    metrics.rejection(reason);
    return EdgeException.unauthenticated(code, message);
  }

  /** Three base64url parts, the first a JSON object ({@code eyJ}): a compact JWS, or malformed as one. */
  private static boolean looksLikeJwt(String token) {
    int first = token.indexOf('.');
    return token.startsWith("eyJ") && first > 0 && token.indexOf('.', first + 1) > first;
  }
}
