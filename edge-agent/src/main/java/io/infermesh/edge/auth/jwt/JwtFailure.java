package io.infermesh.edge.auth.jwt;

import java.util.Locale;

/**
 * Why a token was refused. Safe to log and to count by; the client gets a plain 401 whatever the
 * reason (a reason would help an attacker more than a user).
 */
public enum JwtFailure {
  /** Not a compact JWS, unreadable header or claims, no {@code exp}, or longer than the bound. */
  MALFORMED,
  /** {@code alg: none}: an unsigned token. */
  ALG_NONE,
  /** A JWS algorithm other than the ones allowed (HS256 with a public key as secret, for one), or a JWE. */
  UNSUPPORTED_ALG,
  /** No key with the token's {@code kid}, even after a refresh of the key set. */
  UNKNOWN_KID,
  /** The signature does not verify with the key, or the key is not one for the token's algorithm. */
  BAD_SIGNATURE,
  /** {@code exp} is past, beyond the allowed clock skew. */
  EXPIRED,
  /** {@code nbf} is ahead, beyond the allowed clock skew. */
  NOT_YET_VALID,
  /** {@code aud} does not hold this edge's audience. */
  WRONG_AUDIENCE,
  /** {@code iss} is not the configured issuer. */
  WRONG_ISSUER,
  /** The tenant claim is missing, or a mapped claim holds a value this edge does not know. */
  BAD_CLAIM;

  /** The lower-case name used in logs and metrics, e.g. {@code bad_signature}. */
  public String code() {
    return name().toLowerCase(Locale.ROOT);
  }
}
