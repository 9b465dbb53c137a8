package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MeshServerTest {
  @TempDir Path dir;

  private final RoleAuthorizationPolicy policy = RoleAuthorizationPolicy.builder().build();

  @Test
  void start_withoutCredentials_refusesToServePlaintext() {
    assertThatThrownBy(() -> MeshServer.builder(0).authorization(policy).start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("never serves plaintext");
  }

  @Test
  void start_withoutPolicy_saysWhatIsMissing() {
    MeshCredentialFiles files = TestPki.create(dir).issue(Role.CORE, "core-0");

    assertThatThrownBy(() -> MeshServer.builder(0).credentials(files).start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("authorization(policy)");
  }

  @Test
  void start_withCredentialsAndTls_asksForOne() throws IOException {
    MeshCredentialFiles files = TestPki.create(dir).issue(Role.CORE, "core-0");
    try (MeshTls tls = MeshTls.builder(files).build()) {
      assertThatThrownBy(() -> MeshServer.builder(0).credentials(files).tls(tls).authorization(policy).start())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("set one");
    }
  }

  @Test
  void start_missingCredentialFiles_namesTheFile() {
    MeshCredentialFiles files = MeshCredentialFiles.in(dir, "nobody");

    assertThatThrownBy(() -> MeshServer.builder(0).credentials(files).authorization(policy).start())
        .isInstanceOf(IOException.class)
        .hasMessageContaining(files.certificateChain().toString());
  }

  @Test
  void builder_portOutOfRange_isRejected() {
    assertThatThrownBy(() -> MeshServer.builder(70_000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("port must be between 0 and 65535, got 70000");
  }

  @Test
  void addService_healthOrDuplicate_isRejected() {
    MeshServer.Builder builder = MeshServer.builder(0).addService(new PeerEchoService());

    assertThatThrownBy(() -> builder.addService(new PeerEchoService()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("infermesh.v1.Inference was already added");
    assertThatThrownBy(() -> builder.addService(new HealthStatusManager().getHealthService()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("registered by MeshServer itself");
  }

  @Test
  void start_sharedTls_isNotClosedWithTheServer() throws IOException {
    TestPki pki = TestPki.create(dir);
    try (MeshTls tls = MeshTls.builder(pki.issue(Role.CORE, "core-0")).build()) {
      MeshServer server = MeshServer.builder(0).tls(tls).authorization(policy)
          .addService(new PeerEchoService()).shutdownGrace(Duration.ZERO).start();

      assertThat(server.port()).isPositive();
      assertThat(server.identity()).isEqualTo(pki.idOf(Role.CORE, "core-0"));
      server.close();
      server.close();

      // The shared credentials still serve a second server.
      try (MeshServer again = MeshServer.builder(0).tls(tls).authorization(policy).start()) {
        assertThat(again.port()).isPositive();
      }
    }
  }
}
