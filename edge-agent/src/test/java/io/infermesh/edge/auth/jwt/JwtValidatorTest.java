package io.infermesh.edge.auth.jwt;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.infermesh.certs.FakeClock;
import io.infermesh.edge.engine.Priority;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JwtValidatorTest {
  @TempDir Path dir;
  private final FakeClock time = new FakeClock(Instant.parse("2026-03-01T12:00:00Z"));
  private final AtomicInteger fetches = new AtomicInteger();
  private RSAKey rsa;
  private ECKey ec;
  private Path jwksFile;
  private JwksCache cache;
  private JwtValidator validator;

  @BeforeEach
  void setUp() throws Exception {
    rsa = JwtTokens.rsa("rsa-1");
    ec = JwtTokens.ec("ec-1");
    jwksFile = dir.resolve("jwks.json");
    Files.writeString(jwksFile, JwtTokens.jwks(rsa, ec), UTF_8);
    JwksSource file = JwksSource.file(jwksFile);
    cache = JwksCache.builder(() -> {
      fetches.incrementAndGet();
      return file.fetch();
    }).scheduler(time.scheduler()).ticker(time.ticker()).refreshInterval(Duration.ofMinutes(5))
        .unknownKidInterval(Duration.ofSeconds(30)).start();
    validator = JwtValidator.builder(cache, JwtTokens.ISSUER, JwtTokens.AUDIENCE).clock(time.clock())
        .clockSkew(Duration.ofSeconds(30)).build();
  }

  @AfterEach
  void tearDown() {
    cache.close();
  }

  private Instant now() {
    return time.clock().instant();
  }

  private JwtFailure failure(String token) {
    JwtResult result = validator.validate(token);
    assertThat(result).isInstanceOf(JwtResult.Invalid.class);
    return ((JwtResult.Invalid) result).failure();
  }

  @Test
  void validate_rs256_identityFromMappedClaims() throws Exception {
    JwtResult result = validator.validate(JwtTokens.sign(rsa, JwtTokens.claims(now()).build()));

    assertThat(result).isEqualTo(new JwtResult.Valid(new JwtIdentity("user-7", JwtTokens.ISSUER, "acme",
        Optional.of(Priority.NORMAL), Optional.of("strict"), now().plusSeconds(600))));
  }

  @Test
  void validate_es256_valid() throws Exception {
    assertThat(validator.validate(JwtTokens.sign(ec, JwtTokens.claims(now()).build())))
        .isInstanceOf(JwtResult.Valid.class);
  }

  @Test
  void validate_customClaimNames_mapped() throws Exception {
    JwtValidator custom = JwtValidator.builder(cache, JwtTokens.ISSUER, JwtTokens.AUDIENCE).clock(time.clock())
        .tenantClaim("org").priorityClaim("tier").privacyClaim("pp").build();
    JWTClaimsSet claims = JwtTokens.claims(now()).claim("org", "globex").claim("tier", "low").build();

    JwtResult result = custom.validate(JwtTokens.sign(ec, claims));

    assertThat(result).isInstanceOfSatisfying(JwtResult.Valid.class, v -> {
      assertThat(v.identity().tenant()).isEqualTo("globex");
      assertThat(v.identity().priorityCeiling()).contains(Priority.LOW);
      assertThat(v.identity().privacyPolicy()).isEmpty();
    });
  }

  @Test
  void validate_tamperedClaims_badSignature() throws Exception {
    String token = JwtTokens.sign(rsa, JwtTokens.claims(now()).build());
    String[] parts = token.split("\\.");
    String forged = Base64URL.encode(JwtTokens.claims(now()).claim("tenant", "victim").build().toString()).toString();

    assertThat(failure(parts[0] + "." + forged + "." + parts[2])).isEqualTo(JwtFailure.BAD_SIGNATURE);
  }

  @Test
  void validate_signedByOtherKeyWithKnownKid_badSignature() throws Exception {
    RSAKey attacker = JwtTokens.rsa("rsa-1");

    assertThat(failure(JwtTokens.sign(attacker, JwtTokens.claims(now()).build()))).isEqualTo(JwtFailure.BAD_SIGNATURE);
  }

  @Test
  void validate_rsaKidOnEs256Token_badSignature() throws Exception {
    assertThat(failure(JwtTokens.sign(ec, "rsa-1", JwtTokens.claims(now()).build())))
        .isEqualTo(JwtFailure.BAD_SIGNATURE);
  }

  @Test
  void validate_expiredBeyondSkew_expired_withinSkew_valid() throws Exception {
    String token = JwtTokens.sign(rsa, JwtTokens.claims(now()).build());

    time.forward(Duration.ofSeconds(600 + 29));
    assertThat(validator.validate(token)).isInstanceOf(JwtResult.Valid.class);
    time.forward(Duration.ofSeconds(1));
    assertThat(failure(token)).isEqualTo(JwtFailure.EXPIRED);
  }

  @Test
  void validate_notBeforeAhead_notYetValid() throws Exception {
    JWTClaimsSet claims = JwtTokens.claims(now()).notBeforeTime(Date.from(now().plusSeconds(31))).build();

    assertThat(failure(JwtTokens.sign(ec, claims))).isEqualTo(JwtFailure.NOT_YET_VALID);
    JWTClaimsSet withinSkew = JwtTokens.claims(now()).notBeforeTime(Date.from(now().plusSeconds(30))).build();
    assertThat(validator.validate(JwtTokens.sign(ec, withinSkew))).isInstanceOf(JwtResult.Valid.class);
  }

  @Test
  void validate_wrongAudience_wrongAudience() throws Exception {
    assertThat(failure(JwtTokens.sign(rsa, JwtTokens.claims(now()).audience("other").build())))
        .isEqualTo(JwtFailure.WRONG_AUDIENCE);
  }

  @Test
  void validate_wrongIssuer_wrongIssuer() throws Exception {
    assertThat(failure(JwtTokens.sign(rsa, JwtTokens.claims(now()).issuer("https://evil.test").build())))
        .isEqualTo(JwtFailure.WRONG_ISSUER);
  }

  @Test
  void validate_algNone_algNone() {
    String header = Base64URL.encode("{\"alg\":\"none\"}").toString();
    String payload = Base64URL.encode(JwtTokens.claims(now()).build().toString()).toString();

    assertThat(failure(header + "." + payload + ".")).isEqualTo(JwtFailure.ALG_NONE);
  }

  @Test
  void validate_hs256WithPublicKeyAsSecret_unsupportedAlg() throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("rsa-1").build(),
        JwtTokens.claims(now()).build());
    jwt.sign(new MACSigner(rsa.toPublicJWK().toJSONString().getBytes(UTF_8)));

    assertThat(failure(jwt.serialize())).isEqualTo(JwtFailure.UNSUPPORTED_ALG);
  }

  @Test
  void validate_garbageAndOversized_malformed() throws Exception {
    assertThat(failure("not.a.jwt")).isEqualTo(JwtFailure.MALFORMED);
    assertThat(failure("")).isEqualTo(JwtFailure.MALFORMED);
    assertThat(failure("a".repeat(JwtValidator.MAX_TOKEN_CHARS + 1))).isEqualTo(JwtFailure.MALFORMED);
    assertThat(failure(JwtTokens.sign(rsa, JwtTokens.claims(now()).expirationTime(null).build())))
        .isEqualTo(JwtFailure.MALFORMED);
  }

  @Test
  void validate_missingTenantOrUnknownPriority_badClaim() throws Exception {
    assertThat(failure(JwtTokens.sign(rsa, JwtTokens.claims(now()).claim("tenant", null).build())))
        .isEqualTo(JwtFailure.BAD_CLAIM);
    assertThat(failure(JwtTokens.sign(rsa, JwtTokens.claims(now()).claim("priority", "urgent").build())))
        .isEqualTo(JwtFailure.BAD_CLAIM);
    assertThat(failure(JwtTokens.sign(rsa, JwtTokens.claims(now()).claim("tenant", 42).build())))
        .isEqualTo(JwtFailure.BAD_CLAIM);
  }

  @Test
  void validate_unknownKid_oneRateLimitedRefresh() throws Exception {
    ECKey stranger = JwtTokens.ec("nobody");
    assertThat(fetches.get()).isEqualTo(1);

    assertThat(failure(JwtTokens.sign(stranger, JwtTokens.claims(now()).build()))).isEqualTo(JwtFailure.UNKNOWN_KID);
    assertThat(fetches.get()).isEqualTo(2);
    assertThat(failure(JwtTokens.sign(JwtTokens.ec("other"), JwtTokens.claims(now()).build())))
        .isEqualTo(JwtFailure.UNKNOWN_KID);
    assertThat(fetches.get()).isEqualTo(2);

    time.forward(Duration.ofSeconds(30));
    assertThat(failure(JwtTokens.sign(stranger, JwtTokens.claims(now()).build()))).isEqualTo(JwtFailure.UNKNOWN_KID);
    assertThat(fetches.get()).isEqualTo(3);
  }

  @Test
  void validate_rotatedKey_foundByUnknownKidRefresh() throws Exception {
    RSAKey next = JwtTokens.rsa("rsa-2");
    Files.writeString(jwksFile, JwtTokens.jwks(next, ec), UTF_8);

    assertThat(validator.validate(JwtTokens.sign(next, JwtTokens.claims(now()).build())))
        .isInstanceOf(JwtResult.Valid.class);
    assertThat(failure(JwtTokens.sign(rsa, JwtTokens.claims(now()).build()))).isEqualTo(JwtFailure.UNKNOWN_KID);
  }

  @Test
  void validate_rotatedKidFromManyThreadsAtOnce_oneRefresh() throws Exception {
    RSAKey next = JwtTokens.rsa("rsa-3");
    Files.writeString(jwksFile, JwtTokens.jwks(rsa, next, ec), UTF_8);
    String token = JwtTokens.sign(next, JwtTokens.claims(now()).build());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<JwtResult>> results = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        results.add(pool.submit(() -> {
          go.await();
          return validator.validate(token);
        }));
      }
      go.countDown();
      for (Future<JwtResult> r : results) {
        assertThat(r.get(30, TimeUnit.SECONDS)).isInstanceOf(JwtResult.Valid.class);
      }
    } finally {
      pool.shutdown();
      assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }

    assertThat(fetches.get()).isEqualTo(2); // the start, then one refresh for all eight
  }

  @Test
  void refresh_scheduled_picksUpNewKeys_failedRefreshKeepsLastGood() throws Exception {
    RSAKey next = JwtTokens.rsa("rsa-2");
    Files.writeString(jwksFile, JwtTokens.jwks(rsa, next), UTF_8);
    time.forward(Duration.ofMinutes(5));
    assertThat(cache.key("rsa-2")).isPresent();

    Files.writeString(jwksFile, "{\"keys\": [", UTF_8); // a half-written file
    time.forward(Duration.ofMinutes(5));
    Files.delete(jwksFile);
    time.forward(Duration.ofMinutes(5));

    assertThat(fetches.get()).isEqualTo(4);
    assertThat(validator.validate(JwtTokens.sign(next, JwtTokens.claims(now()).build())))
        .isInstanceOf(JwtResult.Valid.class);
    assertThat(time.pendingTasks()).isEqualTo(1);
  }

  @Test
  void start_unreadableJwks_throws() throws IOException {
    Files.writeString(jwksFile, "{}", UTF_8);

    assertThatThrownBy(() -> JwksCache.builder(JwksSource.file(jwksFile)).scheduler(time.scheduler()).start())
        .isInstanceOf(IOException.class).hasMessageContaining("JWKS " + jwksFile);
  }

  @Test
  void toString_results_holdNoToken() throws Exception {
    String token = JwtTokens.sign(rsa, JwtTokens.claims(now()).build());

    assertThat(validator.validate(token).toString()).doesNotContain(token.substring(0, 20));
    assertThat(validator.validate(token + "x").toString()).isEqualTo("Invalid[failure=BAD_SIGNATURE]");
  }
}
