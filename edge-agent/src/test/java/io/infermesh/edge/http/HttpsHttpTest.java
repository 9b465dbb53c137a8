package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.infermesh.certs.IssuedCertificate;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.FakeEngine;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.EdgeConfigLoader;
import io.infermesh.node.config.ConfigException;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP API over real HTTPS on port 0: certificates from a test mesh CA, rotated on disk while
 * the agent runs, client certificates required or optional, and the refusal to serve plain HTTP
 * beyond loopback.
 */
class HttpsHttpTest {
  private static final String KEY = "sk-https-000000000001";
  private static final String CHAT = "{\"messages\": [{\"role\": \"user\", \"content\": \"over tls\"}], \"max_tokens\": 3}";

  @TempDir static Path dir;
  private static TestPki pki;
  private static MeshCredentialFiles server;
  private static EdgeAgent agent;

  @BeforeAll
  static void start() throws Exception {
    pki = TestPki.create(dir.resolve("pki"));
    server = pki.issue(Role.EDGE, "edge-https"); // SANs localhost and 127.0.0.1
    agent = start(EdgeConfig.HttpTls.builder(server.certificateChain(), server.privateKey())
        .refreshPeriod(Duration.ofMillis(100)).build(), true);
  }

  @AfterAll
  static void stop() {
    if (agent != null) {
      agent.close();
    }
  }

  private static EdgeAgent start(EdgeConfig.HttpTls tls, boolean apiKeys) throws IOException {
    EdgeConfig config = TinyModel.config();
    config = config.withHttp(config.http().withTls(Optional.of(tls)));
    if (apiKeys) {
      config = config.withAuth(new EdgeConfig.Auth(List.of(EdgeConfig.Tenant.builder("tls").keys(KEY).build())));
    }
    return EdgeAgent.builder(config).engine(new FakeEngine(512, 2)).start();
  }

  @Test
  void https_clientTrustingTheMeshCa_getsAnswers() throws Exception {
    HttpClient client = client(null);

    HttpResponse<String> chat = client.send(post(agent, "/v1/chat/completions"), HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> health = client.send(get(agent, "/healthz"), HttpResponse.BodyHandlers.ofString());

    assertThat(agent.httpScheme()).isEqualTo("https");
    assertThat(chat.statusCode()).isEqualTo(200);
    assertThat(chat.body()).contains("\"chat.completion\"");
    assertThat(chat.headers().firstValue("x-infermesh-route")).hasValue("edge");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(chat.sslSession()).isPresent();
  }

  @Test
  void https_plainHttpClient_getsNoAnswer() {
    HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort() + "/healthz"))
        .timeout(Duration.ofSeconds(10)).build();

    assertThatThrownBy(() -> plain.send(request, HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
  }

  @Test
  void https_certificateRotatedOnDisk_newConnectionsGetTheNewCertificate() throws Exception {
    MeshCredentialFiles files = pki.issue(Role.EDGE, "edge-rotating");
    EdgeAgent rotating = start(EdgeConfig.HttpTls.builder(files.certificateChain(), files.privateKey())
        .refreshPeriod(Duration.ofMillis(100)).build(), true);
    try {
      HttpClient open = client(null);
      BigInteger before = servedSerial(open, rotating);
      IssuedCertificate next = pki.leaf(Role.EDGE, "edge-rotating");

      TestPki.replace(files, next);

      // A fresh client (no pooled connection, no TLS session to resume) sees the new certificate.
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
          .until(() -> servedSerial(client(null), rotating), s -> s.equals(next.certificate().getSerialNumber()));
      assertThat(before).isNotEqualTo(next.certificate().getSerialNumber());
      // The connection opened before the rotation keeps working with what it was opened with.
      assertThat(servedSerial(open, rotating)).isEqualTo(before);
    } finally {
      rotating.close();
    }
  }

  @Test
  void clientAuthRequire_clientWithoutOrWithForeignCertificate_isRefused_meshClientIsServed() throws Exception {
    EdgeAgent mutual = start(EdgeConfig.HttpTls.builder(server.certificateChain(), server.privateKey())
        .clientCa(pki.caDirectory().resolve("ca.crt")).clientAuth(EdgeConfig.ClientAuth.REQUIRE).build(), false);
    try {
      TestPki foreign = TestPki.create(dir.resolve("foreign"));

      assertThatThrownBy(() -> client(null).send(get(mutual, "/healthz"), HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(IOException.class);
      assertThatThrownBy(() -> client(foreign.leaf(Role.OPERATOR, "intruder")).send(get(mutual, "/healthz"),
          HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
      HttpResponse<String> served = client(pki.leaf(Role.GATEWAY, "app-1"))
          .send(post(mutual, "/v1/chat/completions"), HttpResponse.BodyHandlers.ofString());
      assertThat(served.statusCode()).isEqualTo(200);
    } finally {
      mutual.close();
    }
  }

  @Test
  void clientAuthOptional_clientWithoutCertificate_isServed_foreignCertificateIsRefused() throws Exception {
    EdgeAgent optional = start(EdgeConfig.HttpTls.builder(server.certificateChain(), server.privateKey())
        .clientCa(pki.caDirectory().resolve("ca.crt")).clientAuth(EdgeConfig.ClientAuth.OPTIONAL).build(), true);
    try {
      TestPki foreign = TestPki.create(dir.resolve("foreign-optional"));

      assertThat(client(null).send(get(optional, "/healthz"), HttpResponse.BodyHandlers.ofString()).statusCode())
          .isEqualTo(200);
      assertThatThrownBy(() -> client(foreign.leaf(Role.OPERATOR, "intruder")).send(get(optional, "/healthz"),
          HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
    } finally {
      optional.close();
    }
  }

  @Test
  void start_plainHttpOnEveryInterface_isRefusedWithWhatToDo() {
    EdgeConfig exposed = withKeys(EdgeConfigLoader.parse("http: {host: 0.0.0.0, port: 0}\n", dir));

    assertThatThrownBy(() -> EdgeAgent.builder(exposed).engine(new FakeEngine(512, 2)).start())
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("http.host: is 0.0.0.0, which is not loopback, and http.tls is not set")
        .hasMessageContaining("http.tls.cert and http.tls.key")
        .hasMessageContaining("http.host: 127.0.0.1")
        .hasMessageContaining("http.allow_plaintext: true");
  }

  @Test
  void start_plainHttpOnEveryInterface_withAllowPlaintext_starts() throws Exception {
    EdgeConfig allowed = withKeys(EdgeConfigLoader.parse("http: {host: 0.0.0.0, port: 0, allow_plaintext: true}\n",
        dir));

    try (EdgeAgent plain = EdgeAgent.builder(allowed).engine(new FakeEngine(512, 2)).start()) {
      assertThat(plain.httpHost()).isEqualTo("0.0.0.0");
      assertThat(plain.httpScheme()).isEqualTo("http");
    }
  }

  @Test
  void start_unreadableCertificate_failsNamingTheKeyAndFile() throws Exception {
    Path missing = dir.resolve("missing.crt");
    EdgeConfig.HttpTls tls = EdgeConfig.HttpTls.serverOnly(missing, server.privateKey());

    assertThatThrownBy(() -> start(tls, true))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("http.tls: ")
        .hasMessageContaining(missing.toString());
    assertThat(Files.exists(missing)).isFalse();
  }

  private static EdgeConfig withKeys(EdgeConfig parsed) {
    return parsed.withModel(TinyModel.modelConfig())
        .withAuth(new EdgeConfig.Auth(List.of(EdgeConfig.Tenant.builder("tls").keys(KEY).build())));
  }

  private static BigInteger servedSerial(HttpClient client, EdgeAgent target) throws Exception {
    HttpResponse<String> r = client.send(get(target, "/healthz"), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    Certificate[] peer = r.sslSession().orElseThrow().getPeerCertificates();
    return ((X509Certificate) peer[0]).getSerialNumber();
  }

  private static HttpRequest get(EdgeAgent target, String path) {
    return HttpRequest.newBuilder(uri(target, path)).timeout(Duration.ofSeconds(10)).GET().build();
  }

  private static HttpRequest post(EdgeAgent target, String path) {
    return HttpRequest.newBuilder(uri(target, path)).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + KEY)
        .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build();
  }

  private static URI uri(EdgeAgent target, String path) {
    // "localhost" is in the certificate's SANs: the client's host name check is on.
    return URI.create("https://localhost:" + target.httpPort() + path);
  }

  /** A client that trusts the mesh CA and presents {@code identity} when asked (none when null). */
  private static HttpClient client(IssuedCertificate identity) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("mesh-ca", pki.ca().certificate());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManagerFactory kmf = null;
    if (identity != null) {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry("client", identity.privateKey(), new char[0], identity.chain().toArray(Certificate[]::new));
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, new char[0]);
    }
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(5)).build();
  }
}
