package io.infermesh.xds.server;

import static io.infermesh.xds.testing.TestMeshes.EU;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.xds.config.ControlSettings;
import io.infermesh.xds.config.MeshConfig;
import io.infermesh.xds.snapshot.MeshNodeGroup;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.testing.AdsProbe;
import io.infermesh.xds.testing.TestBackend;
import io.infermesh.xds.testing.TestMeshes;
import io.infermesh.xds.testing.XdsClients;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Proxyless clients and the control plane's mTLS xDS port. The port is ready for them: a
 * standard gRPC TLS channel built from an edge node's mesh files (what gRFC A65's {@code tls}
 * channel creds describe) reaches it by the name {@code localhost}, passes hostname verification
 * and gets its listener. grpc-xds 1.85.1 cannot be that client: its {@code tls} channel creds
 * ignore their {@code config} ({@code TlsXdsCredentialsProvider.newChannelCredentials} returns
 * {@code TlsChannelCredentials.create()}), so a grpc-xds client bootstrapped with the mesh files
 * presents no certificate and trusts only the system roots — and gets no configuration. When
 * grpc-java with A65 arrives, the second test fails: switch {@link ProxylessBootstrap} and the
 * client tests to {@code tls} then.
 *
 * <p>Runs in its own fork: grpc-xds reads its bootstrap once per JVM.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxylessMtlsXdsClientTest {

  private static final String XDS_NODE = "edge-xds-tls";

  private Path dir;
  private TestBackend backend;
  private ControlPlane controlPlane;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("proxyless-mtls");
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(30), Clock.systemUTC());
    ca.writeTo(dir, false);
    // grpc verifies the server's certificate against the host of the xDS server URI
    ca.issue(LeafRequest.builder(Role.CONTROL, EU, "control").dnsName("localhost").ipAddress("127.0.0.1")
        .validity(Duration.ofDays(1)).build()).writeTo(dir, false);
    ca.issue(LeafRequest.builder(Role.EDGE, EU, "edge-1").validity(Duration.ofDays(1)).build()).writeTo(dir, false);
    backend = TestBackend.start("eu-1", EU, "a", Tier.PRIVATE, "v1");
    ControlSettings control = new ControlSettings("0.0.0.0", 0, false, "127.0.0.1", -1,
        Optional.of(new ControlSettings.Credentials(dir, "control")), Optional.empty(), Duration.ofHours(24),
        Duration.ofMillis(200));
    controlPlane = ControlPlane.builder(
        new MeshConfig(TestMeshes.policy(), control, Optional.empty(), List.of(backend.endpoint()))).start();
  }

  @AfterAll
  void stop() throws Exception {
    if (controlPlane != null) {
      controlPlane.close();
    }
    if (backend != null) {
      backend.close();
    }
    try (var files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** The {@code tls} channel creds of gRFC A65, pointing at {@code edge-1}'s mesh files. */
  private String a65Bootstrap() {
    MeshCredentialFiles edge = MeshCredentialFiles.in(dir, "edge-1");
    return """
        {
          "xds_servers": [{
            "server_uri": "localhost:%d",
            "channel_creds": [{"type": "tls", "config": {
              "ca_certificate_file": "%s", "certificate_file": "%s", "private_key_file": "%s",
              "refresh_interval": "60s"}}],
            "server_features": ["xds_v3", "ignore_resource_deletion"]
          }],
          "node": {"id": "%s", "locality": {"region": "%s"},
                   "metadata": {"%s": "grpc", "%s": "%s"}}
        }
        """.formatted(controlPlane.xdsPort(), edge.trustBundle(), edge.certificateChain(), edge.privateKey(),
        XDS_NODE, EU, MeshNodeGroup.ROLE_KEY, MeshNodeGroup.REGION_KEY, EU);
  }

  @Test
  void standardTlsChannel_withTheMeshFilesA65Names_getsItsListenerByTheNameLocalhost() throws Exception {
    MeshCredentialFiles edge = MeshCredentialFiles.in(dir, "edge-1");
    ChannelCredentials creds = TlsChannelCredentials.newBuilder()
        .keyManager(edge.certificateChain().toFile(), edge.privateKey().toFile())
        .trustManager(edge.trustBundle().toFile())
        .build();
    ManagedChannel channel = Grpc.newChannelBuilder("localhost:" + controlPlane.xdsPort(), creds).build();
    try {
      DiscoveryResponse response = AdsProbe.firstResponse(channel, AdsProbe.node("edge-tls-probe", "grpc", EU),
          Resources.V3.LISTENER_TYPE_URL, "core-inference").get(10, TimeUnit.SECONDS);
      assertThat(response.getResources(0).unpack(Listener.class).getName()).isEqualTo("core-inference");
      assertThat(controlPlane.nodes().nodes()).anySatisfy(n -> {
        assertThat(n.nodeId()).isEqualTo("edge-tls-probe");
        assertThat(n.peer()).isEqualTo("spiffe://mesh.local/eu-west/edge/edge-1");
      });
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void grpcXdsClient_tlsChannelCredsWithMeshFiles_presentsNoMeshCertificateAndGetsNoConfig() throws Exception {
    XdsClients.installBootstrap(a65Bootstrap());
    ManagedChannel channel = XdsClients.channel();
    try {
      StatusRuntimeException failed = catchThrowableOfType(StatusRuntimeException.class,
          () -> XdsClients.call(channel, null));
      assertThat(failed)
          .as("grpc-xds 1.85.1 ignores the tls channel-creds config; if this call succeeded, grpc-xds now honours "
              + "gRFC A65: switch ProxylessBootstrap and the grpc-xds client tests to tls")
          .isNotNull();
      // the xDS channel's TLS handshake fails (the bootstrap itself was accepted): no listener arrives
      assertThat(failed.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(failed.getStatus().getDescription()).contains("Error retrieving LDS resource core-inference");
      assertThat(failed.getStatus().getCause()).isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
      assertThat(controlPlane.nodes().nodes()).noneSatisfy(n -> assertThat(n.nodeId()).isEqualTo(XDS_NODE));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
