package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.SpiffeId;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Runs {@code infermesh certs} in-process in a temporary directory. */
class CertsCommandTest {
  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @Test
  void init_newDirectory_writesCaAndSaysWhere() throws Exception {
    Path ca = dir.resolve("certs");

    int exit = run("init", "--trust-domain", "mesh.local", "--out", ca.toString());

    assertThat(exit).as(err.toString()).isZero();
    assertThat(out.toString())
        .contains("trust domain mesh.local")
        .contains("spiffe://mesh.local")
        .contains(ca.resolve("ca.crt").toString())
        .contains(ca.resolve("ca.key").toString());
    assertThat(CertificateAuthority.load(ca, Clock.systemUTC()).trustDomain()).isEqualTo("mesh.local");
    assertThat(mode(ca.resolve("ca.key"))).isEqualTo("rw-------");
  }

  @Test
  void init_existingCa_refusesWithoutForce() throws Exception {
    Path ca = dir.resolve("certs");
    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString())).isZero();
    byte[] before = Files.readAllBytes(ca.resolve("ca.key"));

    int exit = run("init", "--trust-domain", "mesh.local", "--out", ca.toString());

    assertThat(exit).isEqualTo(1);
    assertThat(err.toString())
        .contains("error: refusing to overwrite " + ca.resolve("ca.key"))
        .contains("--force");
    assertThat(Files.readAllBytes(ca.resolve("ca.key"))).isEqualTo(before);
  }

  @Test
  void init_force_replacesTheCa() throws Exception {
    Path ca = dir.resolve("certs");
    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString())).isZero();
    byte[] before = Files.readAllBytes(ca.resolve("ca.crt"));

    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString(), "--force")).isZero();

    assertThat(Files.readAllBytes(ca.resolve("ca.crt"))).isNotEqualTo(before);
  }

  @Test
  void issue_leaf_writesChainAndPrivateKeyWithMode0600() throws Exception {
    Path ca = dir.resolve("certs");
    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString())).isZero();

    int exit = run("issue", "--ca", ca.toString(), "--role", "edge", "--region", "us-east", "--name", "edge-1",
        "--dns", "edge-1.local", "--ip", "10.0.0.7", "--days", "30");

    assertThat(exit).as(err.toString()).isZero();
    assertThat(out.toString())
        .contains("Issued spiffe://mesh.local/us-east/edge/edge-1")
        .contains(ca.resolve("edge-1.crt").toString())
        .contains(ca.resolve("edge-1.key").toString())
        .contains("edge-1.local")
        .contains("10.0.0.7");
    assertThat(mode(ca.resolve("edge-1.key"))).isEqualTo("rw-------");
    X509Certificate leaf = firstCertificate(ca.resolve("edge-1.crt"));
    assertThat(SpiffeId.fromCertificate(leaf)).isEqualTo(SpiffeId.parse("spiffe://mesh.local/us-east/edge/edge-1"));
    leaf.verify(CertificateAuthority.load(ca, Clock.systemUTC()).publicKey());
  }

  @Test
  void issue_outDirectory_getsItsOwnTrustBundle() throws Exception {
    Path ca = dir.resolve("certs");
    Path node = dir.resolve("node");
    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString())).isZero();

    int exit = run("issue", "--ca", ca.toString(), "--role", "core", "--region", "eu", "--name", "core-0",
        "--out", node.toString());

    assertThat(exit).as(err.toString()).isZero();
    assertThat(node.toFile().list()).containsExactlyInAnyOrder("core-0.crt", "core-0.key", "ca.crt");
    assertThat(Files.readAllBytes(node.resolve("ca.crt"))).isEqualTo(Files.readAllBytes(ca.resolve("ca.crt")));
  }

  @Test
  void issue_existingLeaf_refusesWithoutForceAndRotatesWithForce() throws Exception {
    Path ca = dir.resolve("certs");
    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString())).isZero();
    String[] issue = {"issue", "--ca", ca.toString(), "--role", "edge", "--region", "us-east", "--name", "edge-1"};
    assertThat(run(issue)).isZero();
    X509Certificate first = firstCertificate(ca.resolve("edge-1.crt"));

    assertThat(run(issue)).isEqualTo(1);
    assertThat(err.toString()).contains("refusing to overwrite").contains("edge-1").contains("--force");
    assertThat(firstCertificate(ca.resolve("edge-1.crt"))).isEqualTo(first);

    assertThat(run(append(issue, "--force"))).isZero();
    assertThat(firstCertificate(ca.resolve("edge-1.crt")).getSerialNumber()).isNotEqualTo(first.getSerialNumber());
    assertThat(mode(ca.resolve("edge-1.key"))).isEqualTo("rw-------");
  }

  @Test
  void issue_unknownRole_listsValidRoles() throws Exception {
    Path ca = dir.resolve("certs");
    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString())).isZero();

    int exit = run("issue", "--ca", ca.toString(), "--role", "admin", "--region", "us-east", "--name", "x");

    assertThat(exit).isNotZero();
    assertThat(err.toString()).contains("unknown role 'admin'").contains("edge, core, control, gateway, operator");
    assertThat(ca.resolve("x.crt")).doesNotExist();
  }

  @Test
  void issue_badRegion_namesIt() throws Exception {
    Path ca = dir.resolve("certs");
    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString())).isZero();

    int exit = run("issue", "--ca", ca.toString(), "--role", "edge", "--region", "US East", "--name", "x");

    assertThat(exit).isEqualTo(1);
    assertThat(err.toString()).contains("error: region 'US East' is invalid");
  }

  @Test
  void issue_missingCa_saysHowToCreateOne() {
    int exit = run("issue", "--ca", dir.resolve("nowhere").toString(), "--role", "edge", "--region", "r",
        "--name", "e");

    assertThat(exit).isEqualTo(1);
    assertThat(err.toString()).contains("no CA in").contains("infermesh certs init");
  }

  @Test
  void issue_zeroDays_namesTheOption() throws Exception {
    Path ca = dir.resolve("certs");
    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString())).isZero();

    assertThat(run("issue", "--ca", ca.toString(), "--role", "edge", "--region", "r", "--name", "e", "--days", "0"))
        .isEqualTo(1);
    assertThat(err.toString()).contains("--days must be a positive number of days, got 0");
  }

  @Test
  void inspect_leaf_printsIdentitySansAndValidity() throws Exception {
    Path ca = dir.resolve("certs");
    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString())).isZero();
    assertThat(run("issue", "--ca", ca.toString(), "--role", "gateway", "--region", "us-east", "--name", "gw-1",
        "--dns", "gw.mesh.local")).isZero();
    out.getBuffer().setLength(0);

    int exit = run("inspect", ca.resolve("gw-1.crt").toString());

    assertThat(exit).as(err.toString()).isZero();
    assertThat(out.toString())
        .contains("spiffe://mesh.local/us-east/gateway/gw-1")
        .contains("gw.mesh.local")
        .contains("not after")
        .contains("valid (expires in")
        .contains("CN=gw-1");
  }

  @Test
  void inspect_privateKey_explains() throws Exception {
    Path ca = dir.resolve("certs");
    assertThat(run("init", "--trust-domain", "mesh.local", "--out", ca.toString())).isZero();

    assertThat(run("inspect", ca.resolve("ca.key").toString())).isEqualTo(1);
    assertThat(err.toString()).contains("holds a private key, not a certificate");
  }

  private int run(String... args) {
    CommandLine commandLine = new CommandLine(new CertsCommand())
        .setExecutionExceptionHandler(new UserErrorHandler())
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  private static String[] append(String[] args, String extra) {
    String[] all = Arrays.copyOf(args, args.length + 1);
    all[args.length] = extra;
    return all;
  }

  private static String mode(Path file) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }

  private static X509Certificate firstCertificate(Path file) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(Files.readString(file).getBytes(StandardCharsets.US_ASCII)));
  }
}
