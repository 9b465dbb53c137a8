package io.infermesh.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.AdminGrpc;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.node.config.Durations;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Option;

/**
 * The options every {@code infermesh admin} command shares: which node to call and with which
 * operator certificate (explicit files, or the {@code .infermesh/} layout that {@code infermesh
 * up} writes, where an operator identity is issued from its CA on first use, valid a week and
 * re-issued after six days). Not thread-safe; one per command run.
 */
final class AdminConnection {
  /** The identity issued into the {@code up} layout. */
  static final String OPERATOR_NAME = "operator";
  /** Operator certificates are short-lived: issued for a week, re-issued after six days. */
  private static final Duration VALIDITY = Duration.ofDays(7);
  private static final Duration REISSUE_AFTER = Duration.ofDays(6);
  /** How long a remote call may take (a swap loads a model on every stage first). */
  private static final long DEADLINE_SECONDS = 900;

  @Option(names = "--target", defaultValue = "localhost:9443", paramLabel = "HOST:PORT",
      description = {"The node to administer: a core node's or pipeline stage's", "gRPC port"
          + " (default: ${DEFAULT-VALUE})."})
  String target;

  @Option(names = "--cert", paramLabel = "FILE",
      description = "Operator certificate (PEM, leaf first); with --key and --ca.")
  Path cert;

  @Option(names = "--key", paramLabel = "FILE", description = "The certificate's private key (PEM).")
  Path key;

  @Option(names = "--ca", paramLabel = "FILE", description = "The mesh CA certificate(s) to trust (PEM).")
  Path ca;

  @Option(names = "--dir", defaultValue = ".infermesh", paramLabel = "DIR",
      description = {"Without --cert: the directory 'infermesh up' uses (default:", "${DEFAULT-VALUE}); its"
          + " pki/certs/operator.crt is used, issued from", "its CA on first use."})
  Path dir;

  /** Runs {@code call} against the target's Admin service; a refused call becomes one line and exit code 1. */
  int call(PrintWriter err, AdminCall call) throws IOException {
    try (MeshTls tls = MeshTls.builder(credentials()).build()) {
      ManagedChannel channel = MeshChannels.newChannel(target, tls, ExpectedIdentity.roles(Role.CORE, Role.EDGE));
      try {
        call.run(AdminGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS));
        return 0;
      } catch (StatusRuntimeException e) {
        err.println("error: " + target + " answered " + e.getStatus().getCode()
            + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription()));
        return UserErrorHandler.USER_ERROR;
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /** A {@code --drain-timeout} value in milliseconds. */
  static long drainMillis(String text) {
    try {
      return Durations.parse(text).toMillis();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--drain-timeout: " + e.getMessage());
    }
  }

  /** One Admin call. */
  @FunctionalInterface
  interface AdminCall {
    void run(AdminGrpc.AdminBlockingStub admin);
  }

  private MeshCredentialFiles credentials() throws IOException {
    if (cert != null || key != null || ca != null) {
      if (cert == null || key == null || ca == null) {
        throw new IllegalArgumentException("--cert, --key and --ca go together (an operator certificate, its key"
            + " and the mesh CA)");
      }
      return new MeshCredentialFiles(cert, key, ca);
    }
    Path certs = dir.resolve("pki").resolve("certs");
    MeshCredentialFiles files = MeshCredentialFiles.in(certs, OPERATOR_NAME);
    if (Files.isRegularFile(files.certificateChain()) && Files.isRegularFile(files.privateKey())
        && Files.getLastModifiedTime(files.certificateChain()).toInstant().isAfter(Instant.now().minus(REISSUE_AFTER))) {
      return files;
    }
    Path caDir = dir.resolve("pki").resolve("ca");
    if (!Files.isRegularFile(caDir.resolve(CertificateAuthority.PRIVATE_KEY_FILE))) {
      throw new IllegalArgumentException("no operator certificate: give --cert, --key and --ca, or run this where"
          + " 'infermesh up' keeps " + dir + " (or point --dir at it)");
    }
    CertificateAuthority authority = CertificateAuthority.load(caDir, Clock.systemUTC());
    authority.issue(LeafRequest.builder(Role.OPERATOR, MeshUp.REGION, OPERATOR_NAME).validity(VALIDITY).build())
        .writeTo(certs, true);
    return files;
  }
}
