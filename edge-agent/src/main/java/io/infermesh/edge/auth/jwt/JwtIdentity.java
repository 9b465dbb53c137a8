package io.infermesh.edge.auth.jwt;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.Priority;
import java.time.Instant;
import java.util.Optional;

/**
 * Who a valid token says the caller is.
 *
 * @param subject the {@code sub} claim, empty when absent
 * @param issuer the {@code iss} claim
 * @param tenant the tenant claim's value
 * @param priorityCeiling the highest priority the caller may ask for, when the token names one
 * @param privacyPolicy the privacy policy name the token names, if any
 * @param expiresAt the {@code exp} claim
 */
public record JwtIdentity(String subject, String issuer, String tenant, Optional<Priority> priorityCeiling,
    Optional<String> privacyPolicy, Instant expiresAt) {
  public JwtIdentity {
    requireNonNull(subject, "subject");
    requireNonNull(issuer, "issuer");
    requireNonNull(tenant, "tenant");
    requireNonNull(priorityCeiling, "priorityCeiling");
    requireNonNull(privacyPolicy, "privacyPolicy");
    requireNonNull(expiresAt, "expiresAt");
  }
}
