package io.infermesh.edge.auth.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/** Keys generated for a test (RSA 2048, EC P-256) and tokens signed with them. */
final class JwtTokens {
  static final String ISSUER = "https://idp.example.test";
  static final String AUDIENCE = "infermesh-edge";

  private JwtTokens() {}

  static RSAKey rsa(String kid) throws JOSEException {
    return new RSAKeyGenerator(2048).keyID(kid).generate();
  }

  static ECKey ec(String kid) throws JOSEException {
    return new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
  }

  /** The public JWKS of {@code keys}. */
  static String jwks(JWK... keys) {
    return new JWKSet(List.of(keys)).toPublicJWKSet().toString();
  }

  /** Claims valid from {@code now} for ten minutes, for tenant acme. */
  static JWTClaimsSet.Builder claims(Instant now) {
    return new JWTClaimsSet.Builder().issuer(ISSUER).audience(AUDIENCE).subject("user-7")
        .issueTime(Date.from(now)).notBeforeTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600)))
        .claim("tenant", "acme").claim("priority", "normal").claim("privacy_policy", "strict");
  }

  static String sign(JWK key, JWTClaimsSet claims) throws JOSEException {
    return sign(key, key.getKeyID(), claims);
  }

  static String sign(JWK key, String kid, JWTClaimsSet claims) throws JOSEException {
    boolean rsa = key instanceof RSAKey;
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(rsa ? JWSAlgorithm.RS256 : JWSAlgorithm.ES256).keyID(kid)
        .build(), claims);
    jwt.sign(rsa ? new RSASSASigner((RSAKey) key) : new ECDSASigner((ECKey) key));
    return jwt.serialize();
  }
}
