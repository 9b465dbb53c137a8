package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The deny list file: its grammar, reloading on change, and keeping the last good version. */
class DenyListTest {
  @TempDir Path dir;

  @Test
  void watching_fileChanges_newEntriesApplyAndBadVersionKeepsPrevious() throws Exception {
    TestPki pki = TestPki.create(dir);
    IssuedCertificate edge = pki.leaf(Role.EDGE, "edge-1");
    Path file = dir.resolve("deny.txt");
    write(file, "# nobody yet\n");

    try (DenyList list = DenyList.watching(file, Duration.ofMillis(50))) {
      assertThat(list.revocation(edge.spiffeId(), edge.certificate())).isEmpty();

      write(file, edge.spiffeId() + "\n");
      await().atMost(Duration.ofSeconds(20)).until(() -> list.denies(edge.spiffeId()));
      assertThat(list.revocation(edge.spiffeId(), edge.certificate()))
          .contains("identity " + edge.spiffeId() + " is revoked");

      write(file, edge.spiffeId() + "\nnot an entry\n");
      list.refresh();
      assertThat(list.denies(edge.spiffeId())).as("a broken version keeps the previous entries").isTrue();

      write(file, "");
      await().atMost(Duration.ofSeconds(20)).until(() -> !list.denies(edge.spiffeId()));
    }
  }

  @Test
  void watching_serialWithColons_deniesThatCertificateOnly() throws Exception {
    TestPki pki = TestPki.create(dir);
    IssuedCertificate revoked = pki.leaf(Role.EDGE, "edge-1");
    IssuedCertificate sameIdentityOtherCertificate = pki.leaf(Role.EDGE, "edge-1");
    String hex = revoked.certificate().getSerialNumber().toString(16).toUpperCase();
    Path file = dir.resolve("deny.txt");
    write(file, "SERIAL:" + hex.replaceAll("(..)(?!$)", "$1:") + "\n");

    try (DenyList list = DenyList.watching(file, Duration.ofMinutes(1))) {
      assertThat(list.revocation(revoked.spiffeId(), revoked.certificate())).isPresent();
      assertThat(list.revocation(revoked.spiffeId(), sameIdentityOtherCertificate.certificate())).isEmpty();
      assertThat(list.denies(revoked.spiffeId())).isFalse();
    }
  }

  @Test
  void watching_malformedOrMissingFile_failsNamingFileAndLine() throws Exception {
    Path file = dir.resolve("deny.txt");
    assertThatThrownBy(() -> DenyList.watching(file, Duration.ofMinutes(1)))
        .isInstanceOf(IOException.class).hasMessageContaining(file.toString());

    write(file, "# ok\nspiffe://mesh.test/r/robot/x\n");
    assertThatThrownBy(() -> DenyList.watching(file, Duration.ofMinutes(1)))
        .isInstanceOf(IOException.class).hasMessageContaining(file + ":2: ").hasMessageContaining("role 'robot'");
  }

  private static void write(Path file, String content) throws IOException {
    Path temporary = Files.writeString(file.resolveSibling(file.getFileName() + ".tmp"), content);
    Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
