package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.server.CoreNode;
import io.infermesh.models.ModelDigests;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tiny.VocabularyKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code infermesh admin} against a real core node whose certificates live in the layout
 * {@code infermesh up} writes ({@code DIR/pki/ca}, {@code DIR/pki/certs}): the operator identity
 * is issued there on first use; an edge certificate given with --cert is refused.
 */
class AdminCommandTest {
  @TempDir static Path dir;
  private static CoreNode node;
  private static CertificateAuthority ca;
  private static Path v1;
  private static Path v2;

  @BeforeAll
  static void start() throws Exception {
    ca = CertificateAuthority.create(MeshUp.TRUST_DOMAIN, Duration.ofDays(30), Clock.systemUTC());
    ca.writeTo(dir.resolve("pki/ca"), false);
    Path certs = dir.resolve("pki/certs");
    for (Role role : new Role[] {Role.CORE, Role.EDGE}) {
      ca.issue(LeafRequest.builder(role, MeshUp.REGION, role.pathName() + "-0").dnsName("localhost")
          .ipAddress("127.0.0.1").validity(Duration.ofDays(1)).build()).writeTo(certs, true);
    }
    Path models = dir.resolve("models");
    v1 = TinyModels.write(TinyModelSpec.core(GgmlType.F32), models);
    v2 = TinyModels.write(new TinyModelSpec("core-two", VocabularyKind.BPE, 128, 4, 8, 2, 384, 1024, GgmlType.F32,
        42L), models);
    node = CoreNode.start(CoreConfig.builder(new CoreConfig.Node("core-0", MeshUp.REGION),
            new CoreConfig.Tls(certs, "core-0"))
        .grpcPort(0)
        .model(CoreConfig.Model.builder("tiny-core").path(v1).device("cpu").defaultMaxTokens(16).build())
        .metricsPort(-1)
        .build());
    node.loadConfiguredModel();
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static String target() {
    return "localhost:" + node.port();
  }

  @Test
  void models_upLayout_issuesTheOperatorIdentityAndListsTheServingVersion() throws Exception {
    CliRun run = CliRun.of("admin", "models", "--target", target(), "--dir", dir.toString());
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).contains("spiffe://infermesh.local/local/core/core-0").contains("serving")
        .contains("sha256 " + ModelDigests.sha256(v1) + "  " + v1.getFileName());
    assertThat(dir.resolve("pki/certs/operator.crt")).isRegularFile();
  }

  @Test
  void loadThenRollback_swapsAndSwapsBack() throws Exception {
    String digest = ModelDigests.sha256(v2);
    String before = node.host().current().orElseThrow().version();
    CliRun wrong = CliRun.of("admin", "load", "--target", target(), "--dir", dir.toString(), "--path", v2.toString(),
        "--sha256", v2.getFileName() + "=" + "0".repeat(64));
    assertThat(wrong.exitCode()).isEqualTo(1);
    assertThat(wrong.err()).contains("FAILED_PRECONDITION").contains(v2.toString()).contains(digest);
    CliRun load = CliRun.of("admin", "load", "--target", target(), "--dir", dir.toString(), "--path", v2.toString(),
        "--sha256", v2.getFileName() + "=" + digest, "--version", "v2", "--drain-timeout", "30s");
    assertThat(load.exitCode()).as(load.err()).isZero();
    assertThat(load.out()).contains("now serving:").contains("tiny-core v2").contains("replaced:").contains(before);
    assertThat(node.host().current().orElseThrow().version()).isEqualTo("v2");
    CliRun back = CliRun.of("admin", "rollback", "--target", target(), "--dir", dir.toString());
    assertThat(back.exitCode()).as(back.err()).isZero();
    assertThat(node.host().current().orElseThrow().version()).isEqualTo(before);
  }

  @Test
  void drainThenUndrain_reportsRotation() {
    CliRun drain = CliRun.of("admin", "drain", "--target", target(), "--dir", dir.toString());
    assertThat(drain.exitCode()).as(drain.err()).isZero();
    assertThat(drain.out()).startsWith("drained; ready false");
    CliRun undrain = CliRun.of("admin", "undrain", "--target", target(), "--dir", dir.toString());
    assertThat(undrain.exitCode()).as(undrain.err()).isZero();
    assertThat(undrain.out()).startsWith("in rotation; ready true");
  }

  @Test
  void anyCommand_edgeCertificate_permissionDenied() {
    MeshCredentialFiles edge = MeshCredentialFiles.in(dir.resolve("pki/certs"), "edge-0");
    CliRun run = CliRun.of("admin", "drain", "--target", target(), "--cert", edge.certificateChain().toString(),
        "--key", edge.privateKey().toString(), "--ca", edge.trustBundle().toString());
    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains("PERMISSION_DENIED").contains("role 'edge'");
    assertThat(CliRun.of("admin", "models", "--target", target(), "--dir", dir.toString()).out())
        .doesNotContain("(drained)");
  }

  @Test
  void certWithoutKey_or_noCredentials_clearError() throws Exception {
    CliRun half = CliRun.of("admin", "models", "--target", target(), "--cert", "op.crt");
    assertThat(half.exitCode()).isEqualTo(1);
    assertThat(half.err()).contains("--cert, --key and --ca go together");
    Path empty = Files.createTempDirectory("no-infermesh");
    CliRun none = CliRun.of("admin", "models", "--target", target(), "--dir", empty.toString());
    assertThat(none.exitCode()).isEqualTo(1);
    assertThat(none.err()).contains("no operator certificate");
  }

  @Test
  void help_explainsEveryCommand() {
    CliRun help = CliRun.of("admin", "--help");
    assertThat(help.exitCode()).isZero();
    assertThat(help.out()).contains("models").contains("load").contains("rollback").contains("drain")
        .contains("undrain").contains("--target");
    assertThat(CliRun.of("admin", "load", "--help").out()).contains("--sha256=FILE=HASH").contains("--drain-timeout");
  }
}
