package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Certificates replaced on disk are picked up by new connections without a restart. */
class CredentialRotationTest {
  private static final String INFERENCE = "infermesh.v1.Inference";
  private static final Duration REFRESH = Duration.ofMillis(100);

  @TempDir Path dir;

  @Test
  void serverRotation_newConnectionsSeeNewCertificate_openStreamKeepsWorking() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles serverFiles = pki.issue(Role.CORE, "core-a");
    SpiffeId coreA = pki.idOf(Role.CORE, "core-a");
    SpiffeId coreB = pki.idOf(Role.CORE, "core-b");
    SpiffeId edge = pki.idOf(Role.EDGE, "edge-a");
    try (MeshServer server = server(serverFiles);
        MeshTls client = MeshTls.builder(pki.issue(Role.EDGE, "edge-a")).refreshPeriod(REFRESH).build()) {
      String target = "localhost:" + server.port();
      ManagedChannel opened = MeshChannels.newChannel(target, client, ExpectedIdentity.exactly(coreA));
      try {
        BlockingQueue<Object> watched = watch(opened);
        assertThat(watched.poll(10, TimeUnit.SECONDS)).isEqualTo(ServingStatus.SERVING);

        TestPki.replace(serverFiles, pki.leaf(Role.CORE, "core-b"));

        await().atMost(Duration.ofSeconds(10)).pollInterval(REFRESH)
            .ignoreExceptionsInstanceOf(StatusRuntimeException.class)
            .untilAsserted(() -> assertThat(callOnNewChannel(target, client, coreB)).isEqualTo(edge.toString()));
        assertThat(server.identity()).isEqualTo(coreB);
        assertThatThrownBy(() -> callOnNewChannel(target, client, coreA))
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));

        // The connection opened before the rotation (to core-a) still carries the open stream and new calls.
        server.health().setStatus(INFERENCE, ServingStatus.NOT_SERVING);
        assertThat(watched.poll(10, TimeUnit.SECONDS)).isEqualTo(ServingStatus.NOT_SERVING);
        assertThat(listModels(opened)).isEqualTo(edge.toString());
      } finally {
        opened.shutdownNow();
      }
    }
  }

  @Test
  void clientRotation_newConnectionsPresentNewCertificate() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles clientFiles = pki.issue(Role.EDGE, "edge-a");
    try (MeshServer server = server(pki.issue(Role.CORE, "core-a"));
        MeshTls client = MeshTls.builder(clientFiles).refreshPeriod(REFRESH).build()) {
      String target = "localhost:" + server.port();
      SpiffeId core = pki.idOf(Role.CORE, "core-a");
      assertThat(callOnNewChannel(target, client, core)).isEqualTo(pki.idOf(Role.EDGE, "edge-a").toString());

      TestPki.replace(clientFiles, pki.leaf(Role.EDGE, "edge-b"));

      await().atMost(Duration.ofSeconds(10)).pollInterval(REFRESH)
          .untilAsserted(() -> assertThat(callOnNewChannel(target, client, core))
              .isEqualTo(pki.idOf(Role.EDGE, "edge-b").toString()));
      assertThat(client.identity()).isEqualTo(pki.idOf(Role.EDGE, "edge-b"));
    }
  }

  @Test
  void close_withOpenWatch_reportsNotServingAndStopsListening() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshServer server = server(pki.issue(Role.CORE, "core-a"));
    try (MeshTls client = MeshTls.builder(pki.issue(Role.EDGE, "edge-a")).build()) {
      String target = "localhost:" + server.port();
      ManagedChannel channel = MeshChannels.newChannel(target, client, ExpectedIdentity.roles(Role.CORE));
      try {
        BlockingQueue<Object> watched = watch(channel);
        assertThat(watched.poll(10, TimeUnit.SECONDS)).isEqualTo(ServingStatus.SERVING);

        server.close();

        assertThat(watched.poll(10, TimeUnit.SECONDS)).isEqualTo(ServingStatus.NOT_SERVING);
        assertThatThrownBy(() -> callOnNewChannel(target, client, pki.idOf(Role.CORE, "core-a")))
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
      } finally {
        channel.shutdownNow();
        server.close();
      }
    }
  }

  private static MeshServer server(MeshCredentialFiles files) throws IOException {
    return MeshServer.builder(0)
        .credentials(files)
        .refreshPeriod(REFRESH)
        .authorization(RoleAuthorizationPolicy.builder().allow(INFERENCE, Role.EDGE).build())
        .addService(new PeerEchoService())
        .shutdownGrace(Duration.ofSeconds(1))
        .start();
  }

  /** Calls ListModels on a fresh channel (a new connection and handshake) and returns the caller the server saw. */
  private static String callOnNewChannel(String target, MeshTls tls, SpiffeId expectedServer) throws InterruptedException {
    ManagedChannel channel = MeshChannels.newChannel(target, tls, ExpectedIdentity.exactly(expectedServer));
    try {
      return listModels(channel);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static String listModels(ManagedChannel channel) {
    return InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .listModels(ListModelsRequest.getDefaultInstance()).getModels(0).getName();
  }

  /** Watches the Inference service's health; statuses (or the stream's error) land in the queue. */
  private static BlockingQueue<Object> watch(ManagedChannel channel) {
    BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    HealthGrpc.newStub(channel).watch(HealthCheckRequest.newBuilder().setService(INFERENCE).build(),
        new StreamObserver<>() {
          @Override
          public void onNext(HealthCheckResponse response) {
            events.add(response.getStatus());
          }

          @Override
          public void onError(Throwable t) {
            events.add(t);
          }

          @Override
          public void onCompleted() {
            events.add("completed");
          }
        });
    return events;
  }
}
