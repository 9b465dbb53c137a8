package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.infermesh.api.v1.CertificateSignerGrpc;
import io.infermesh.api.v1.RenewRequest;
import io.infermesh.api.v1.RenewResponse;
import io.infermesh.certs.CertificateRenewal;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import io.infermesh.xds.signer.SignerServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SignerCommandTest {
  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(SignerCommand command, String... args) {
    CommandLine cl = new CommandLine(command).setExecutionExceptionHandler(new UserErrorHandler());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void help_listsTheOptions() {
    CliRun r = CliRun.of("signer", "--help");

    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("--ca=DIR", "--tls-dir=DIR", "--port=PORT", "--ttl=DURATION", "--deny-list=FILE",
        "--allow-roles=ROLE", "holds the CA key");
  }

  @Test
  void settings_flags_mapToTheSignerSettings() {
    SignerCommand cmd = new SignerCommand();
    new CommandLine(cmd).setCaseInsensitiveEnumValuesAllowed(true).parseArgs("--ca", "ca", "--tls-dir", "tls",
        "--name", "signer-1", "--port", "0", "--ttl", "90m", "--deny-list", "deny.txt", "--allow-roles", "edge,gateway");

    SignerServer.Settings s = cmd.settings();

    assertThat(s.caDirectory()).isEqualTo(Path.of("ca"));
    assertThat(s.identity().certificateChain()).isEqualTo(Path.of("tls", "signer-1.crt"));
    assertThat(s.port()).isZero();
    assertThat(s.validity()).isEqualTo(Duration.ofMinutes(90));
    assertThat(s.denyList()).isEqualTo(Optional.of(Path.of("deny.txt")));
    assertThat(s.allowedRoles()).isEqualTo(Set.of(Role.EDGE, Role.GATEWAY));
  }

  @Test
  void signer_missingCa_failsWithOneLineNamingTheFile() {
    assertThat(run(new SignerCommand(), "--ca", dir.resolve("none").toString())).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("none/ca.crt").doesNotContain("\tat ");
  }

  @Test
  void signer_starts_renewsAnEdgeAndStopsWhenInterrupted() throws Exception {
    TestPki pki = TestPki.create(dir);
    Path tls = pki.issue(Role.CONTROL, "signer").certificateChain().getParent();
    Path denyList = Files.writeString(dir.resolve("deny.txt"), "");
    AtomicInteger exit = new AtomicInteger(-1);
    Thread runner = new Thread(() -> exit.set(run(new SignerCommand(), "--ca", pki.caDirectory().toString(),
        "--tls-dir", tls.toString(), "--port", "0", "--address", "127.0.0.1", "--ttl", "1h",
        "--deny-list", denyList.toString())));
    runner.start();
    Pattern listening = Pattern.compile("signer listening on /127.0.0.1:(\\d+)");
    await().atMost(Duration.ofSeconds(20)).until(() -> listening.matcher(out.toString()).find());
    Matcher m = listening.matcher(out.toString());
    assertThat(m.find()).isTrue();

    try (MeshTls edge = MeshTls.builder(pki.issue(Role.EDGE, "edge-1")).build()) {
      ManagedChannel channel = MeshChannels.newChannel("127.0.0.1:" + m.group(1), edge,
          ExpectedIdentity.roles(Role.CONTROL));
      try {
        RenewResponse renewed = CertificateSignerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
            .renew(RenewRequest.newBuilder().setCsr(ByteString.copyFrom(
                CertificateRenewal.of(edge.certificate()).request().encoded())).build());
        assertThat(renewed.getCertificateChainCount()).isEqualTo(2);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    runner.interrupt();
    runner.join(10_000);
    assertThat(exit.get()).isZero();
  }
}
