package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading and reloading PEM files into an SSLContext, without a server (the edge's HTTPS tests use one). */
class ReloadingSslContextTest {
  @TempDir Path dir;

  @Test
  void refresh_rotatedFiles_serveTheNewCertificate() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles files = pki.issue(Role.EDGE, "web");
    try (ReloadingSslContext tls = ReloadingSslContext.builder(files.certificateChain(), files.privateKey())
        .refreshPeriod(Duration.ofHours(1)).build()) {
      IssuedCertificate next = pki.leaf(Role.EDGE, "web");

      TestPki.replace(files, next);
      tls.refresh();

      assertThat(tls.certificate()).isEqualTo(next.certificate());
    }
  }

  @Test
  void refresh_keyOfAnotherCertificate_keepsThePreviousUntilConsistent() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles files = pki.issue(Role.EDGE, "web");
    try (ReloadingSslContext tls = ReloadingSslContext.builder(files.certificateChain(), files.privateKey())
        .trustBundle(files.trustBundle()).refreshPeriod(Duration.ofHours(1)).build()) {
      var before = tls.certificate();
      IssuedCertificate other = pki.leaf(Role.EDGE, "other");

      Files.writeString(files.privateKey(), other.privateKeyPem()); // half a rotation: the key only
      tls.refresh();
      assertThat(tls.certificate()).isEqualTo(before);

      Files.writeString(files.certificateChain(), other.certificateChainPem()); // the rotation completes
      tls.refresh();
      assertThat(tls.certificate()).isEqualTo(other.certificate());
    }
  }

  @Test
  void build_trustBundleWithALeaf_failsNamingTheFile() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles files = pki.issue(Role.EDGE, "web");

    assertThatThrownBy(() -> ReloadingSslContext.builder(files.certificateChain(), files.privateKey())
        .trustBundle(files.certificateChain()).build())
        .isInstanceOf(IOException.class)
        .hasMessageContaining(files.certificateChain().toString())
        .hasMessageContaining("is not a CA certificate");
  }

  @Test
  void build_keyOfAnotherCertificate_failsNamingBothFiles() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles files = pki.issue(Role.EDGE, "web");
    MeshCredentialFiles other = pki.issue(Role.EDGE, "other");

    assertThatThrownBy(() -> ReloadingSslContext.builder(files.certificateChain(), other.privateKey()).build())
        .isInstanceOf(IOException.class)
        .hasMessageContaining(other.privateKey() + ": is not the private key of the first certificate in "
            + files.certificateChain());
  }
}
