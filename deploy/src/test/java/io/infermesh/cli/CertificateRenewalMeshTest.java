package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.server.CoreNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.config.Renewal;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.xds.signer.SignerServer;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Device certificates renewed over the mesh, across a real signer, core node and edge agent on
 * loopback: the edge starts with a certificate valid for ten seconds and keeps escalating to the
 * core through several renewals and past that certificate's expiry without one failed request and
 * without a restart; then its identity is put on the deny list that the signer and the core both
 * read, and both refuse it.
 */
class CertificateRenewalMeshTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  // a few seconds, enough for a renewal on a loaded 2-core machine (one attempt there can take 2s)
  private static final Duration TTL = Duration.ofSeconds(10);
  private static final String REGION = "local";

  @TempDir Path dir;

  @Test
  void shortLivedEdgeCertificate_renewedUnderLoadWithNoFailure_thenRevokedIdentityRefusedBySignerAndCore()
      throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(30), Clock.systemUTC());
    Path caDir = dir.resolve("ca");
    ca.writeTo(caDir, false);
    Path certs = dir.resolve("certs");
    issue(ca, Role.CORE, "core-0", Duration.ofDays(1), certs);
    MeshCredentialFiles signerFiles = issue(ca, Role.CONTROL, "signer", Duration.ofDays(1), certs);
    SpiffeId edgeId = new SpiffeId("mesh.local", REGION, Role.EDGE, "edge-0");
    Path denyList = Files.writeString(dir.resolve("deny-list.txt"), "# revoked devices\n");
    Path models = dir.resolve("models");

    List<AutoCloseable> running = new ArrayList<>();
    try {
      SignerServer signer = SignerServer.start(SignerServer.Settings.builder(caDir, signerFiles).port(0)
          .bindAddress(MeshUp.LOOPBACK).validity(TTL).denyList(denyList, Duration.ofMillis(100)).build());
      running.add(0, signer);
      CoreNode core = CoreNode.start(CoreConfig.builder(new CoreConfig.Node("core-0", REGION),
              new CoreConfig.Tls(certs, "core-0", Optional.of(denyList)))
          .grpcPort(0)
          .model(CoreConfig.Model.builder(MeshUp.CORE_MODEL).path(TinyModels.write(TinyModelSpec.core(GgmlType.F32),
              models)).device("cpu").defaultMaxTokens(8).build())
          .metricsPort(-1)
          .listen(CoreConfig.Listen.loopback())
          .build());
      running.add(0, core);
      core.loadConfiguredModel();
      // issued last: from here on, only renewals keep the edge in the mesh
      MeshCredentialFiles edgeFiles = issue(ca, Role.EDGE, "edge-0", TTL, certs);
      X509Certificate first = leaf(edgeFiles);
      Renewal renewal = Renewal.builder(MeshUp.LOOPBACK + ":" + signer.port()).before(new Renewal.Before.Fraction(0.5))
          .timeout(Duration.ofSeconds(5)).backoff(Duration.ofMillis(100), Duration.ofMillis(400)).build();
      EdgeAgent edge = EdgeAgent.builder(EdgeConfig.defaults()
              .withModel(EdgeConfig.Model.builder().path(TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), models))
                  .contextSize(MeshUp.EDGE_CONTEXT).threads(1).parallel(2).defaultMaxTokens(8).build())
              .withHttpHost(MeshUp.LOOPBACK)
              .withHttpPort(0)
              .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)))
              .withEscalation(Escalation.builder().target(MeshUp.LOOPBACK + ":" + core.port()).tls(certs, "edge-0")
                  .timeout(Duration.ofSeconds(20)).renew(renewal).build()))
          .start();
      running.add(0, edge);
      edge.awaitModel(Duration.ofMinutes(2));
      String url = "http://" + MeshUp.LOOPBACK + ":" + edge.httpPort() + "/v1/chat/completions";

      // a client escalating to the core without pause, while the certificate turns over
      Set<BigInteger> servedUnder = ConcurrentHashMap.newKeySet();
      AtomicInteger served = new AtomicInteger();
      List<String> failures = new ArrayList<>();
      AtomicBoolean stop = new AtomicBoolean();
      Thread client = new Thread(() -> {
        while (!stop.get()) {
          String outcome = escalate(url);
          if (outcome.equals("core")) {
            served.incrementAndGet();
            servedUnder.add(leaf(edgeFiles).getSerialNumber());
          } else {
            synchronized (failures) {
              failures.add(outcome);
            }
          }
        }
      }, "renewal-load");
      client.start();
      try {
        // renewed at least twice, and still escalating after the first certificate expired
        Instant firstExpiry = first.getNotAfter().toInstant();
        await().atMost(Duration.ofSeconds(60)).until(() -> renewals(edge, "renewed") >= 2
            && Instant.now().isAfter(firstExpiry.plusSeconds(1)) && servedUnder.size() >= 2);
        int servedAfterExpiry = served.get();
        await().atMost(Duration.ofSeconds(30)).until(() -> served.get() > servedAfterExpiry + 5);
      } finally {
        stop.set(true);
        client.join(TimeUnit.SECONDS.toMillis(60));
      }
      assertThat(failures).as("requests not answered by the core").isEmpty();
      X509Certificate now = leaf(edgeFiles);
      assertThat(now.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
      assertThat(SpiffeId.fromCertificate(now)).isEqualTo(edgeId);
      assertThat(edge.registry().get("infermesh.cert.expiry.seconds").gauge().value())
          .as("the edge has the renewed certificate loaded").isPositive();

      // a fresh handshake with the files as renewed is accepted by the core; keep that connection open
      try (MeshTls renewed = MeshTls.builder(edgeFiles).build()) {
        ManagedChannel toCore = MeshChannels.newChannel(MeshUp.LOOPBACK + ":" + core.port(), renewed,
            ExpectedIdentity.roles(Role.CORE));
        try {
          InferenceGrpc.InferenceBlockingStub stub = InferenceGrpc.newBlockingStub(toCore);
          assertThat(stub.withDeadlineAfter(10, TimeUnit.SECONDS).listModels(ListModelsRequest.getDefaultInstance())
              .getModelsCount()).isPositive();

          Files.writeString(denyList, "# revoked devices\n" + edgeId + "\n");

          // the core refuses the revoked identity on a connection whose certificate it accepted
          await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            StatusRuntimeException refused = refusal(stub);
            assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(refused.getStatus().getDescription()).isEqualTo("identity " + edgeId + " is revoked");
          });
          // and the signer refuses to renew it
          await().atMost(Duration.ofSeconds(30)).until(() -> renewals(edge, "permission_denied") >= 1);
        } finally {
          toCore.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
      assertThat(escalate(url)).as("the edge's own escalations are refused too").isNotEqualTo("core");
    } finally {
      for (AutoCloseable c : running) {
        c.close();
      }
    }
  }

  /** One chat completion naming the core's model: "core" when the core answered it, else what happened. */
  private static String escalate(String url) {
    String body = JSON.createObjectNode().put("model", "core").put("max_tokens", 4)
        .set("messages", JSON.createArrayNode().add(JSON.createObjectNode().put("role", "user")
            .put("content", "hello"))).toString();
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url))
          .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
      String route = r.headers().firstValue("x-infermesh-route").orElse("none");
      return r.statusCode() == 200 && route.equals("core") ? "core"
          : r.statusCode() + " " + route + " " + r.headers().firstValue("x-infermesh-reason").orElse("") + " "
              + r.body();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static StatusRuntimeException refusal(InferenceGrpc.InferenceBlockingStub stub) {
    try {
      stub.withDeadlineAfter(10, TimeUnit.SECONDS).listModels(ListModelsRequest.getDefaultInstance());
      throw new AssertionError("the core served the revoked identity");
    } catch (StatusRuntimeException e) {
      return e;
    }
  }

  private static double renewals(EdgeAgent edge, String result) {
    Counter counter = edge.registry().find("infermesh.cert.renewals").tag("result", result).counter();
    return counter == null ? 0 : counter.count();
  }

  private static MeshCredentialFiles issue(CertificateAuthority ca, Role role, String name, Duration validity,
      Path directory) throws Exception {
    return ca.issue(LeafRequest.builder(role, REGION, name).dnsName("localhost").ipAddress("127.0.0.1")
        .validity(validity).build()).writeTo(directory, true);
  }

  /** The leaf the credential files hold now (each file is replaced atomically). */
  private static X509Certificate leaf(MeshCredentialFiles files) {
    try (InputStream in = Files.newInputStream(files.certificateChain())) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    } catch (IOException | CertificateException e) {
      throw new IllegalStateException("cannot read " + files.certificateChain(), e);
    }
  }
}
