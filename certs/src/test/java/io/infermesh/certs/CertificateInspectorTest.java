package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateInspectorTest {
  @TempDir Path dir;

  private final CertificateInspector inspector = CertificateInspector.of(Clock.systemUTC());

  @Test
  void describe_leafChain_showsIdentitySansValidityAndCa() throws IOException {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles files = pki.issue(Role.GATEWAY, "gw-1");

    String text = inspector.describe(files.certificateChain());

    assertThat(text)
        .contains(files.certificateChain() + ": 2 certificates")
        .contains("[1] leaf certificate")
        .contains("spiffe://mesh.test/test-1/gateway/gw-1 (region test-1, role gateway, name gw-1)")
        .contains("localhost")
        .contains("127.0.0.1")
        .contains("valid (expires in")
        .contains("EC P-256")
        .contains("serverAuth, clientAuth")
        .contains("[2] CA certificate")
        .contains("spiffe://mesh.test (trust domain mesh.test)")
        .contains("yes (path length 0)")
        .doesNotContain("PRIVATE");
  }

  @Test
  void describe_expiredLeaf_saysExpired() throws IOException {
    TestPki pki = TestPki.create(dir);

    String text = inspector.describe(pki.issueExpired(Role.EDGE, "old").certificateChain());

    assertThat(text).contains("EXPIRED (9 days ago)");
  }

  @Test
  void describe_notYetValid_saysSo() throws IOException {
    TestPki pki = TestPki.create(dir);
    CertificateInspector past = CertificateInspector.of(Clock.offset(Clock.systemUTC(), Duration.ofDays(-5)));

    assertThat(past.describe(pki.issue(Role.EDGE, "new").certificateChain())).contains("NOT YET VALID");
  }

  @Test
  void describe_privateKeyFile_saysToInspectTheCertificate() {
    MeshCredentialFiles files = TestPki.create(dir).issue(Role.EDGE, "e1");

    assertThatThrownBy(() -> inspector.describe(files.privateKey()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("holds a private key, not a certificate");
  }

  @Test
  void describe_missingFile_namesIt() {
    assertThatThrownBy(() -> inspector.describe(dir.resolve("missing.crt")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("missing.crt");
  }
}
