/**
 * Bearer JWT validation: {@link io.infermesh.edge.auth.jwt.JwtValidator} checks a token's JWS
 * signature (RS256, ES256) against keys from a {@link io.infermesh.edge.auth.jwt.JwksCache} (a JWKS
 * file or HTTPS URL, refreshed on a schedule and, rate-limited, on an unknown {@code kid}), then its
 * issuer, audience, expiry and not-before with a small clock skew, and maps configured claims to the
 * tenant, a priority ceiling and a privacy policy name. Every outcome is a {@link
 * io.infermesh.edge.auth.jwt.JwtResult}: an identity or a failure class, never the token.
 *
 * <p>Not yet on the request path: the edge still authenticates with API keys ({@code edge.auth}).
 */
package io.infermesh.edge.auth.jwt;
