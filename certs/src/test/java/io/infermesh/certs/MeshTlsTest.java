package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mTLS and authorization against a real server on an ephemeral port: one server (role core) whose
 * {@code Inference} service edge and gateway may call, and clients of every kind.
 */
class MeshTlsTest {
  private static final String INFERENCE = "infermesh.v1.Inference";

  @TempDir static Path dir;

  private static TestPki pki;
  private static PeerEchoService service;
  private static MeshServer server;
  private static final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void startServer() throws IOException {
    pki = TestPki.create(dir.resolve("pki"));
    service = new PeerEchoService();
    server = MeshServer.builder(0)
        .credentials(pki.issue(Role.CORE, "core-0"))
        .authorization(RoleAuthorizationPolicy.builder().allow(INFERENCE, Role.EDGE, Role.GATEWAY).build())
        .addService(service)
        .shutdownGrace(Duration.ofSeconds(1))
        .start();
  }

  @AfterAll
  static void stopServer() throws Exception {
    for (AutoCloseable closeable : closeables) {
      closeable.close();
    }
    server.close();
  }

  @Test
  void call_allowedRole_succeedsAndSeesCallerIdentity() throws IOException {
    ManagedChannel channel = channel(tls(pki.issue(Role.EDGE, "edge-ok")), ExpectedIdentity.roles(Role.CORE));

    String peer = InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .listModels(ListModelsRequest.getDefaultInstance()).getModels(0).getName();

    assertThat(peer).isEqualTo(pki.idOf(Role.EDGE, "edge-ok").toString());
  }

  @Test
  void call_allowedRole_checksServerIdentityNotHostName() throws IOException {
    // The authority names a host that is in no certificate; the server is accepted for its SPIFFE ID alone.
    ManagedChannel channel = MeshChannels.builder("localhost:" + server.port(), tls(pki.issue(Role.GATEWAY, "gw-ok")),
            ExpectedIdentity.exactly(pki.idOf(Role.CORE, "core-0")))
        .overrideAuthority("not-in-any-certificate.invalid")
        .build();
    closeables.add(0, channel::shutdownNow);

    assertThat(InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .listModels(ListModelsRequest.getDefaultInstance()).getModelsCount()).isEqualTo(1);
  }

  @Test
  void call_roleNotInPolicy_isPermissionDenied() throws IOException {
    int before = service.calls.get();
    ManagedChannel channel = channel(tls(pki.issue(Role.CONTROL, "control-0")), ExpectedIdentity.anyRole());

    assertThatThrownBy(() -> InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
            .listModels(ListModelsRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(e.getStatus().getDescription())
              .isEqualTo("role 'control' may not call infermesh.v1.Inference/ListModels");
        });
    assertThat(service.calls.get()).isEqualTo(before);
  }

  @Test
  void healthCheck_anyMeshRole_isServing() throws IOException {
    ManagedChannel channel = channel(tls(pki.issue(Role.OPERATOR, "op-health")), ExpectedIdentity.anyRole());

    ServingStatus status = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(INFERENCE).build()).getStatus();

    assertThat(status).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void reflection_anyMeshRole_listsServices() throws Exception {
    ManagedChannel channel = channel(tls(pki.issue(Role.OPERATOR, "op-reflect")), ExpectedIdentity.anyRole());
    CompletableFuture<ServerReflectionResponse> response = new CompletableFuture<>();

    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse value) {
            response.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            response.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    requests.onCompleted();

    assertThat(response.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList())
        .extracting(ServiceResponse::getName)
        .contains(INFERENCE, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection");
  }

  @Test
  void call_clientOfAnotherCa_failsTheHandshake() throws IOException {
    TestPki other = TestPki.create(dir.resolve("other-ca"));
    // The client trusts the real CA, so only the server's check can refuse it.
    MeshCredentialFiles foreign = other.issue(Role.EDGE, "edge-foreign");
    Files.copy(pki.caDirectory().resolve("ca.crt"), foreign.trustBundle(), StandardCopyOption.REPLACE_EXISTING);

    assertHandshakeRefused(channel(tls(foreign), ExpectedIdentity.anyRole()));
  }

  @Test
  void call_serverOfAnotherCa_isRefusedByTheClient() throws IOException {
    TestPki other = TestPki.create(dir.resolve("other-ca-client"));

    assertHandshakeRefused(channel(tls(other.issue(Role.EDGE, "edge-other")), ExpectedIdentity.anyRole()));
  }

  @Test
  void call_serverWithUnexpectedRole_isRefusedByTheClient() throws IOException {
    assertHandshakeRefused(channel(tls(pki.issue(Role.EDGE, "edge-expects-control")),
        ExpectedIdentity.roles(Role.CONTROL)));
  }

  @Test
  void call_expiredClientCertificate_failsTheHandshake() throws IOException {
    assertHandshakeRefused(channel(tls(pki.issueExpired(Role.EDGE, "edge-expired")), ExpectedIdentity.anyRole()));
  }

  @Test
  void call_noClientCertificate_failsTheHandshake() throws IOException {
    ChannelCredentials trustOnly = TlsChannelCredentials.newBuilder()
        .trustManager(pki.caDirectory().resolve("ca.crt").toFile())
        .build();

    assertHandshakeRefused(channel("localhost:" + server.port(), trustOnly));
  }

  @Test
  void call_plaintext_isRefused() {
    assertHandshakeRefused(channel("localhost:" + server.port(), InsecureChannelCredentials.create()));
  }

  @Test
  void call_otherTrustDomainTrustedByServer_isPermissionDenied() throws IOException {
    // A server whose bundle also trusts a second trust domain's CA (as during a federation or a
    // CA migration) still refuses that domain's callers per call.
    TestPki foreignDomain = TestPki.create(dir.resolve("foreign-domain"), "other.test");
    MeshCredentialFiles serverFiles = pki.issue(Role.CORE, "core-bundle");
    Files.write(serverFiles.trustBundle(), concat(
        Files.readAllBytes(serverFiles.trustBundle()),
        Files.readAllBytes(foreignDomain.caDirectory().resolve("ca.crt"))));
    PeerEchoService echo = new PeerEchoService();
    try (MeshServer bundleServer = MeshServer.builder(0)
        .credentials(serverFiles)
        .authorization(RoleAuthorizationPolicy.builder().allow(INFERENCE, Role.EDGE).build())
        .addService(echo)
        .shutdownGrace(Duration.ZERO)
        .start()) {
      MeshCredentialFiles client = foreignDomain.issue(Role.EDGE, "edge-foreign-domain");
      // A plain TLS client (host name verified) that trusts the server's CA.
      ChannelCredentials credentials = TlsChannelCredentials.newBuilder()
          .keyManager(client.certificateChain().toFile(), client.privateKey().toFile())
          .trustManager(pki.caDirectory().resolve("ca.crt").toFile())
          .build();
      ManagedChannel channel = channel("localhost:" + bundleServer.port(), credentials);

      assertThatThrownBy(() -> InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
              .listModels(ListModelsRequest.getDefaultInstance()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).contains("not in this server's trust domain");
          });
      assertThat(echo.calls.get()).isZero();
    }
  }

  private void assertHandshakeRefused(ManagedChannel channel) {
    int before = service.calls.get();
    assertThatThrownBy(() -> InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
            .listModels(ListModelsRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThatThrownBy(() -> HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
            .check(HealthCheckRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(service.calls.get()).isEqualTo(before);
  }

  private static MeshTls tls(MeshCredentialFiles files) throws IOException {
    MeshTls tls = MeshTls.builder(files).build();
    closeables.add(tls);
    return tls;
  }

  private static ManagedChannel channel(MeshTls tls, ExpectedIdentity expected) {
    ManagedChannel channel = MeshChannels.newChannel("localhost:" + server.port(), tls, expected);
    closeables.add(0, channel::shutdownNow);
    return channel;
  }

  private static ManagedChannel channel(String target, ChannelCredentials credentials) {
    ManagedChannel channel = Grpc.newChannelBuilder(target, credentials).build();
    closeables.add(0, channel::shutdownNow);
    return channel;
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = new byte[a.length + b.length];
    System.arraycopy(a, 0, both, 0, a.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }
}
