package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MeshServerTest {
  private static final String INFERENCE = "infermesh.v1.Inference";

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

  @Test
  void start_byDefault_reportsServingForEachServiceAndTheServer() throws IOException {
    TestPki pki = TestPki.create(dir);
    try (MeshServer server = MeshServer.builder(0).credentials(pki.issue(Role.CORE, "core-0")).authorization(policy)
            .addService(new PeerEchoService()).shutdownGrace(Duration.ZERO).start();
        HealthProbe probe = new HealthProbe(pki, server)) {
      assertThat(probe.status(INFERENCE)).isEqualTo(ServingStatus.SERVING);
      assertThat(probe.status("")).isEqualTo(ServingStatus.SERVING);
    }
  }

  @Test
  void start_initiallyNotServing_reportsNotServingUntilTheOwnerFlipsIt() throws IOException {
    TestPki pki = TestPki.create(dir);
    try (MeshServer server = MeshServer.builder(0).credentials(pki.issue(Role.CORE, "core-0")).authorization(policy)
            .addService(new PeerEchoService()).initiallyNotServing().shutdownGrace(Duration.ZERO).start();
        HealthProbe probe = new HealthProbe(pki, server)) {
      assertThat(probe.status(INFERENCE)).isEqualTo(ServingStatus.NOT_SERVING);
      assertThat(probe.status("")).isEqualTo(ServingStatus.NOT_SERVING);

      server.health().setStatus(INFERENCE, ServingStatus.SERVING);
      server.health().setStatus("", ServingStatus.SERVING);

      assertThat(probe.status(INFERENCE)).isEqualTo(ServingStatus.SERVING);
      assertThat(probe.status("")).isEqualTo(ServingStatus.SERVING);
    }
  }

  @Test
  void start_byDefault_listensOnEveryInterface() throws IOException {
    MeshCredentialFiles files = TestPki.create(dir).issue(Role.CORE, "core-0");
    try (MeshServer server = MeshServer.builder(0).credentials(files).authorization(policy)
        .shutdownGrace(Duration.ZERO).start()) {
      assertThat(server.address().getAddress().isAnyLocalAddress()).as("%s", server.address()).isTrue();
      assertThat(server.address().getPort()).isEqualTo(server.port());
    }
  }

  @Test
  void start_bindAddressLoopback_listensThereOnlyAndServes() throws IOException {
    TestPki pki = TestPki.create(dir);
    try (MeshServer server = MeshServer.builder(0).credentials(pki.issue(Role.CORE, "core-0")).authorization(policy)
            .bindAddress("127.0.0.1").addService(new PeerEchoService()).shutdownGrace(Duration.ZERO).start();
        HealthProbe probe = new HealthProbe(pki, server)) {
      assertThat(server.address().getAddress()).isEqualTo(InetAddress.getByName("127.0.0.1"));
      assertThat(server.address().getPort()).isEqualTo(server.port()).isPositive();
      assertThat(probe.status(INFERENCE)).isEqualTo(ServingStatus.SERVING);
    }
  }

  @Test
  void bindAddress_blankOrNull_isRejected() {
    MeshServer.Builder builder = MeshServer.builder(0);

    assertThatThrownBy(() -> builder.bindAddress(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bind address must not be blank");
    assertThatThrownBy(() -> builder.bindAddress((InetAddress) null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("address");
  }

  /** Health checks over mTLS as an operator, against {@code 127.0.0.1:<server port>}. */
  private static final class HealthProbe implements AutoCloseable {
    private final MeshTls tls;
    private final ManagedChannel channel;

    HealthProbe(TestPki pki, MeshServer server) throws IOException {
      tls = MeshTls.builder(pki.issue(Role.OPERATOR, "op-0")).build();
      channel = MeshChannels.newChannel("127.0.0.1:" + server.port(), tls, ExpectedIdentity.anyRole());
    }

    ServingStatus status(String service) {
      return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
    }

    @Override
    public void close() {
      channel.shutdownNow();
      tls.close();
    }
  }
}
