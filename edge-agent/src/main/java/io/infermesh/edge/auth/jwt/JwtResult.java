package io.infermesh.edge.auth.jwt;

import static java.util.Objects.requireNonNull;

/** The outcome of validating one token: an identity or a failure class. Neither holds the token. */
public sealed interface JwtResult {
  /** The token is valid. */
  record Valid(JwtIdentity identity) implements JwtResult {
    public Valid {
      requireNonNull(identity, "identity");
    }
  }

  /** The token is refused. */
  record Invalid(JwtFailure failure) implements JwtResult {
    public Invalid {
      requireNonNull(failure, "failure");
    }
  }
}
