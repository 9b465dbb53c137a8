package io.infermesh.xds.server;

import static io.infermesh.xds.testing.TestMeshes.EU;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.envoyproxy.controlplane.cache.Resources;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.xds.XdsNameResolverProvider;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.node.xds.MeshXdsCredentialsProvider;
import io.infermesh.xds.config.ControlSettings;
import io.infermesh.xds.config.MeshConfig;
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
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Proxyless clients reach the control plane's mTLS xDS port with their mesh identity: a grpc-xds
 * client bootstrapped by {@link ProxylessBootstrap#mtls} (channel creds {@code infermesh_mtls},
 * {@link MeshXdsCredentialsProvider}, found by grpc-xds through {@code ServiceLoader}) gets its
 * configuration and routes a call; the control plane sees its SPIFFE ID. A grpc-xds client with a
 * certificate from another CA, or with no client certificate (grpc-xds' own {@code tls} creds),
 * gets nothing, and neither does a plain TLS client without a certificate.
 *
 * <p>Runs in its own fork: grpc-xds reads the JVM's bootstrap once. The refused clients use
 * grpc-xds' per-resolver bootstrap ({@code XdsNameResolverProvider.createForTest}) under schemes of
 * their own, so each has its own xDS client.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxylessMtlsXdsClientTest {

  private Path dir;
  private Path foreign;
  private TestBackend backend;
  private ControlPlane controlPlane;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("proxyless-mtls");
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(30), Clock.systemUTC());
    ca.writeTo(dir, false);
    ca.issue(LeafRequest.builder(Role.CONTROL, EU, "control").dnsName("localhost").ipAddress("127.0.0.1")
        .validity(Duration.ofDays(1)).build()).writeTo(dir, false);
    ca.issue(LeafRequest.builder(Role.EDGE, EU, "edge-1").validity(Duration.ofDays(1)).build()).writeTo(dir, false);
    // same trust domain and role, another CA: what an attacker with a self-made "mesh" cert holds
    foreign = Files.createTempDirectory("proxyless-foreign");
    CertificateAuthority other = CertificateAuthority.create("mesh.local", Duration.ofDays(30), Clock.systemUTC());
    other.writeTo(foreign, false);
    other.issue(LeafRequest.builder(Role.EDGE, EU, "edge-1").validity(Duration.ofDays(1)).build())
        .writeTo(foreign, false);
    backend = TestBackend.start("eu-1", EU, "a", Tier.PRIVATE, "v1");
    ControlSettings control = ControlSettings.builder().xds("0.0.0.0", 0).admin("127.0.0.1", -1)
        .credentials(new ControlSettings.Credentials(dir, "control")).refreshInterval(Duration.ofMillis(200)).build();
    controlPlane = ControlPlane.builder(
        new MeshConfig(TestMeshes.policy(), control, Optional.empty(), List.of(backend.endpoint()))).start();
    XdsClients.installBootstrap(ProxylessBootstrap.mtls("127.0.0.1:" + controlPlane.xdsPort(), "edge-xds-mtls", EU,
        MeshCredentialFiles.in(dir, "edge-1")));
  }

  @AfterAll
  void stop() throws Exception {
    if (controlPlane != null) {
      controlPlane.close();
    }
    if (backend != null) {
      backend.close();
    }
    for (Path d : new Path[] {dir, foreign}) {
      try (var files = Files.walk(d)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void grpcXdsClient_meshCertificate_getsConfigOverMtlsAndRoutes() throws Exception {
    ManagedChannel channel = XdsClients.channel();
    try {
      assertThat(XdsClients.call(channel, null)).isEqualTo("eu-1");
      assertThat(controlPlane.nodes().nodes()).anySatisfy(n -> {
        assertThat(n.nodeId()).isEqualTo("edge-xds-mtls");
        assertThat(n.peer()).as("the xDS stream carried the edge's mesh identity")
            .isEqualTo("spiffe://mesh.local/eu-west/edge/edge-1");
      });
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void grpcXdsClient_certificateFromAnotherCa_getsNothing() throws Exception {
    assertRefused("xds-foreign", "edge-xds-foreign", """
        {"type": "infermesh_mtls", "config": {"certificate_file": "%s", "private_key_file": "%s",
         "ca_certificate_file": "%s"}}""".formatted(foreign.resolve("edge-1.crt"), foreign.resolve("edge-1.key"),
        dir.resolve("ca.crt")));
  }

  @Test
  void grpcXdsClient_noClientCertificate_getsNothing() throws Exception {
    // grpc-xds' own tls creds trust the system roots and present no certificate
    assertRefused("xds-nocert", "edge-xds-nocert", """
        {"type": "tls", "config": {"ca_certificate_file": "%s"}}""".formatted(dir.resolve("ca.crt")));
  }

  @Test
  void plainTlsClient_trustingTheMeshCaWithoutACertificate_isRefusedInTheHandshake() throws Exception {
    ChannelCredentials creds = TlsChannelCredentials.newBuilder()
        .trustManager(MeshCredentialFiles.in(dir, "edge-1").trustBundle().toFile()).build();
    ManagedChannel channel = Grpc.newChannelBuilder("localhost:" + controlPlane.xdsPort(), creds).build();
    try {
      ExecutionException failed = catchThrowableOfType(ExecutionException.class,
          () -> AdsProbe.firstResponse(channel, AdsProbe.node("edge-no-cert", "grpc", EU),
              Resources.V3.LISTENER_TYPE_URL, "core-inference").get(10, TimeUnit.SECONDS));
      assertThat(failed).isNotNull();
      assertThat(Status.fromThrowable(failed.getCause()).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(controlPlane.nodes().nodes()).noneSatisfy(n -> assertThat(n.nodeId()).isEqualTo("edge-no-cert"));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** A grpc-xds channel on {@code scheme:///core-inference} with its own bootstrap gets no config. */
  private void assertRefused(String scheme, String nodeId, String channelCreds) throws Exception {
    String bootstrap = ProxylessBootstrap.mtls("127.0.0.1:" + controlPlane.xdsPort(), nodeId, EU,
            MeshCredentialFiles.in(dir, "edge-1"))
        .replaceFirst("\"channel_creds\": \\[.*\\],", "\"channel_creds\": [" + channelCreds.replace("\\", "\\\\")
            .replace("$", "\\$") + "],");
    @SuppressWarnings("unchecked")
    Map<String, ?> parsed = (Map<String, ?>) io.grpc.internal.JsonParser.parse(bootstrap);
    NameResolverRegistry.getDefaultRegistry().register(XdsNameResolverProvider.createForTest(scheme, parsed));
    ManagedChannel channel = Grpc.newChannelBuilder(scheme + ":///core-inference",
        InsecureChannelCredentials.create()).build();
    try {
      StatusRuntimeException failed = catchThrowableOfType(StatusRuntimeException.class,
          () -> XdsClients.call(channel, null));
      assertThat(failed).as("a call through a control plane that refused the client").isNotNull();
      assertThat(failed.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(failed.getStatus().getDescription()).contains("core-inference");
      assertThat(controlPlane.nodes().nodes()).noneSatisfy(n -> assertThat(n.nodeId()).isEqualTo(nodeId));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
