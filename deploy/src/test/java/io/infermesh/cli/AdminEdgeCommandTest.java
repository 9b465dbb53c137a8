package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.models.ModelDigests;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code infermesh admin} against a real edge agent's gRPC port (mutual TLS, certificates in the
 * layout {@code infermesh up} writes): list, swap to a second GGUF, roll back, drain and undrain.
 */
class AdminEdgeCommandTest {
  @TempDir static Path dir;
  private static EdgeAgent edge;
  private static Path v1;
  private static Path v2;

  @BeforeAll
  static void start() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(MeshUp.TRUST_DOMAIN, Duration.ofDays(30), Clock.systemUTC());
    ca.writeTo(dir.resolve("pki/ca"), false);
    MeshCredentialFiles files = ca.issue(LeafRequest.builder(Role.EDGE, MeshUp.REGION, "edge-0").dnsName("localhost")
        .ipAddress("127.0.0.1").validity(Duration.ofDays(1)).build()).writeTo(dir.resolve("pki/certs"), true);
    Path models = dir.resolve("models");
    v1 = TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), models);
    v2 = TinyModels.write(TinyModelSpec.edge(GgmlType.Q4_0), models);
    EdgeConfig config = EdgeConfig.defaults()
        .withModel(EdgeConfig.Model.builder().path(v1).name("tiny-edge").contextSize(256).threads(1).parallel(1)
            .defaultMaxTokens(8).build())
        .withHttpPort(0)
        .withGrpc(new EdgeConfig.Grpc("127.0.0.1", 0, Optional.of(EdgeConfig.Tls.builder(files.certificateChain(),
            files.privateKey()).clientCa(files.trustBundle()).allowedRoles(List.of("gateway")).build())));
    edge = EdgeAgent.builder(config).cores(1).start();
    edge.awaitModel(Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() {
    edge.close();
  }

  private static String target() {
    return "localhost:" + edge.grpcPort().getAsInt();
  }

  @Test
  void models_load_rollback_drain_undrain_againstAnEdgesGrpcPort() throws Exception {
    CliRun models = CliRun.of("admin", "models", "--target", target(), "--dir", dir.toString());
    assertThat(models.exitCode()).as(models.err()).isZero();
    assertThat(models.out()).contains("spiffe://infermesh.local/local/edge/edge-0").contains("serving")
        .contains("sha256 " + ModelDigests.sha256(v1) + "  " + v1.getFileName());

    CliRun load = CliRun.of("admin", "load", "--target", target(), "--dir", dir.toString(), "--path",
        v2.getFileName().toString(), "--sha256", v2.getFileName() + "=" + ModelDigests.sha256(v2), "--version", "v2");
    assertThat(load.exitCode()).as(load.err()).isZero();
    assertThat(load.out()).contains("now serving:").contains("tiny-edge v2");
    assertThat(edge.service().model().orElseThrow().version()).isEqualTo("v2");

    CliRun back = CliRun.of("admin", "rollback", "--target", target(), "--dir", dir.toString());
    assertThat(back.exitCode()).as(back.err()).isZero();
    assertThat(edge.service().model().orElseThrow().sha256()).isEqualTo(ModelDigests.sha256(v1));

    CliRun drain = CliRun.of("admin", "drain", "--target", target(), "--dir", dir.toString());
    assertThat(drain.exitCode()).as(drain.err()).isZero();
    assertThat(drain.out()).startsWith("drained; ready false");
    assertThat(edge.service().ready()).isFalse();
    CliRun undrain = CliRun.of("admin", "undrain", "--target", target(), "--dir", dir.toString());
    assertThat(undrain.exitCode()).as(undrain.err()).isZero();
    assertThat(undrain.out()).startsWith("in rotation; ready true");
  }
}
