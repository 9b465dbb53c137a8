package io.infermesh.edge.auth.jwt;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.RSAKey;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.FakeClock;
import io.infermesh.certs.IssuedCertificate;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.Role;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The JWKS over real HTTPS: a JDK HttpsServer on port 0 with a certificate from a test CA. */
class JwksHttpsTest {
  private final FakeClock time = new FakeClock(Instant.now());
  private final AtomicReference<String> body = new AtomicReference<>();
  private final AtomicInteger status = new AtomicInteger(200);
  private final AtomicInteger requests = new AtomicInteger();
  private CertificateAuthority ca;
  private HttpsServer server;
  private URI uri;

  @BeforeEach
  void startServer() throws Exception {
    ca = CertificateAuthority.create("mesh.test", Duration.ofDays(365), Clock.systemUTC());
    IssuedCertificate leaf = ca.issue(LeafRequest.builder(Role.CONTROL, "test-1", "jwks").ipAddress("127.0.0.1")
        .validity(Duration.ofDays(7)).build());
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("jwks", leaf.privateKey(), new char[0], leaf.chain().toArray(Certificate[]::new));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, new char[0]);
    SSLContext serverSsl = SSLContext.getInstance("TLS");
    serverSsl.init(kmf.getKeyManagers(), null, null);
    server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(serverSsl));
    server.createContext("/.well-known/jwks.json", exchange -> {
      requests.incrementAndGet();
      byte[] bytes = body.get().getBytes(UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(status.get(), bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    });
    server.start();
    uri = URI.create("https://127.0.0.1:" + server.getAddress().getPort() + "/.well-known/jwks.json");
  }

  @AfterEach
  void stopServer() {
    server.stop(0);
  }

  private SSLContext trusting(CertificateAuthority authority) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", authority.certificate());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    return ssl;
  }

  private JwksCache cache(SSLContext ssl) throws IOException {
    return JwksCache.builder(JwksSource.https(uri, ssl, Duration.ofSeconds(10))).scheduler(time.scheduler())
        .ticker(time.ticker()).refreshInterval(Duration.ofMinutes(5)).unknownKidInterval(Duration.ofSeconds(30))
        .start();
  }

  @Test
  void https_rotationThenFailingRefresh_rotatedKeysKept() throws Exception {
    RSAKey first = JwtTokens.rsa("k1");
    RSAKey second = JwtTokens.rsa("k2");
    body.set(JwtTokens.jwks(first));
    try (JwksCache cache = cache(trusting(ca))) {
      JwtValidator validator = JwtValidator.builder(cache, JwtTokens.ISSUER, JwtTokens.AUDIENCE)
          .clock(time.clock()).build();
      assertThat(validator.validate(JwtTokens.sign(first, JwtTokens.claims(time.clock().instant()).build())))
          .isInstanceOf(JwtResult.Valid.class);

      body.set(JwtTokens.jwks(second)); // the issuer rotates
      assertThat(validator.validate(JwtTokens.sign(second, JwtTokens.claims(time.clock().instant()).build())))
          .isInstanceOf(JwtResult.Valid.class);
      assertThat(requests.get()).isEqualTo(2);

      status.set(503); // the issuer's JWKS endpoint fails
      time.forward(Duration.ofMinutes(5));
      assertThat(requests.get()).isEqualTo(3);
      assertThat(validator.validate(JwtTokens.sign(second, JwtTokens.claims(time.clock().instant()).build())))
          .isInstanceOf(JwtResult.Valid.class);
      assertThat(cache.key("k2")).isPresent();
    }
  }

  @Test
  void https_serverNotTrusted_startFails() throws Exception {
    body.set(JwtTokens.jwks(JwtTokens.rsa("k1")));
    SSLContext foreign = trusting(CertificateAuthority.create("other.test", Duration.ofDays(365), Clock.systemUTC()));

    assertThatThrownBy(() -> cache(foreign)).isInstanceOf(IOException.class);
    assertThat(requests.get()).isZero();
  }

  @Test
  void https_plainHttpUrl_refused() {
    assertThatThrownBy(() -> JwksSource.https(URI.create("http://127.0.0.1/jwks"), SSLContext.getDefault(),
        Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be https");
  }
}
