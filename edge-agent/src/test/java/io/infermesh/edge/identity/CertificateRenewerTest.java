package io.infermesh.edge.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.FakeClock;
import io.infermesh.certs.IssuedCertificate;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.config.Renewal;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The renewer when the signer cannot be reached: it keeps the current certificate, retries with
 * doubling backoff on the injected clock, and counts each failure. (Renewal against a real signer
 * is tested across processes in deploy's {@code CertificateRenewalMeshTest}.)
 */
class CertificateRenewerTest {
  @TempDir Path dir;

  @Test
  void attempt_signerDown_keepsCertificateAndRetriesWithBackoff() throws Exception {
    TestPki pki = TestPki.create(dir);
    IssuedCertificate current = pki.ca().issue(LeafRequest.builder(Role.EDGE, TestPki.REGION, "edge-1")
        .validity(Duration.ofHours(1)).build());
    MeshCredentialFiles files = current.writeTo(dir.resolve("edge-1"), false);
    FakeClock time = new FakeClock(current.certificate().getNotBefore().toInstant());
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Renewal config = Renewal.builder("127.0.0.1:" + closedPort())
        .before(new Renewal.Before.Fraction(0.5)).timeout(Duration.ofSeconds(5))
        .backoff(Duration.ofSeconds(1), Duration.ofSeconds(4)).build();

    try (MeshTls tls = MeshTls.builder(files).build();
        CertificateRenewer renewer = CertificateRenewer.builder(config, tls).clock(time.clock())
            .executor(time.scheduler()).metrics(registry).start()) {
      Duration halfLife = Duration.ofSeconds(30 * 60 + 30); // an hour plus the one-minute backdate, halved
      time.forward(halfLife.minusSeconds(1));
      assertThat(failures(registry)).isZero();

      time.forward(Duration.ofSeconds(1)); // the renewal time: the first attempt fails
      assertThat(failures(registry)).isEqualTo(1);
      time.forward(Duration.ofMillis(999));
      assertThat(failures(registry)).as("waits the first backoff, 1s").isEqualTo(1);
      time.forward(Duration.ofMillis(1));
      assertThat(failures(registry)).isEqualTo(2);
      time.forward(Duration.ofSeconds(2)); // then 2s
      assertThat(failures(registry)).isEqualTo(3);
      time.forward(Duration.ofSeconds(4)); // then 4s, the maximum
      time.forward(Duration.ofSeconds(4));
      assertThat(failures(registry)).isEqualTo(5);

      assertThat(tls.certificate()).isEqualTo(current.certificate());
      assertThat(registry.get("infermesh.cert.expiry.seconds").gauge().value())
          .isEqualTo(Duration.between(time.clock().instant(), current.certificate().getNotAfter().toInstant())
              .toMillis() / 1000.0);
    }
  }

  private static double failures(SimpleMeterRegistry registry) {
    Counter counter = registry.find("infermesh.cert.renewals").tag("result", "unavailable").counter();
    return counter == null ? 0 : counter.count();
  }

  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
