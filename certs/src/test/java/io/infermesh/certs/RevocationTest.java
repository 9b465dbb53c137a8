package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A server with a deny list refuses a revoked caller over real mTLS, even on a connection opened before. */
class RevocationTest {
  @TempDir Path dir;

  @Test
  void call_identityRevokedWhileConnected_isPermissionDeniedOnTheOpenConnection() throws Exception {
    TestPki pki = TestPki.create(dir);
    Path denied = dir.resolve("deny.txt");
    Files.writeString(denied, "");
    SpiffeId edge = pki.idOf(Role.EDGE, "edge-a");
    try (DenyList denyList = DenyList.watching(denied, Duration.ofMillis(50));
        MeshServer server = MeshServer.builder(0)
            .credentials(pki.issue(Role.CORE, "core-a"))
            .authorization(RoleAuthorizationPolicy.builder().allow(InferenceGrpc.SERVICE_NAME, Role.EDGE).build())
            .denyList(denyList)
            .addService(new PeerEchoService())
            .shutdownGrace(Duration.ofSeconds(1))
            .start();
        MeshTls client = MeshTls.builder(pki.issue(Role.EDGE, "edge-a")).build()) {
      ManagedChannel channel = MeshChannels.newChannel("localhost:" + server.port(), client,
          ExpectedIdentity.roles(Role.CORE));
      try {
        InferenceGrpc.InferenceBlockingStub stub = InferenceGrpc.newBlockingStub(channel);
        assertThat(stub.withDeadlineAfter(5, TimeUnit.SECONDS).listModels(ListModelsRequest.getDefaultInstance())
            .getModels(0).getName()).isEqualTo(edge.toString());

        Files.writeString(denied, edge + "\n");

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
          try {
            stub.withDeadlineAfter(5, TimeUnit.SECONDS).listModels(ListModelsRequest.getDefaultInstance());
            throw new AssertionError("the revoked caller was served");
          } catch (StatusRuntimeException e) {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).isEqualTo("identity " + edge + " is revoked");
          }
        });
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
