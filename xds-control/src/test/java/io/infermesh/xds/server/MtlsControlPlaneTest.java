package io.infermesh.xds.server;

import static io.infermesh.xds.testing.AdsProbe.node;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.xds.config.ControlSettings;
import io.infermesh.xds.config.MeshConfig;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.testing.AdsProbe;
import io.infermesh.xds.testing.TestMeshes;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The control plane as deployed: xDS over mutual TLS with mesh identities, Envoy identities
 * issued from the mesh CA and served over SDS, and what each caller may ask for.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MtlsControlPlaneTest {

  private Path dir;

  private ControlPlane controlPlane;

  @BeforeAll
  void start() throws Exception {
    dir = java.nio.file.Files.createTempDirectory("mtls-control-plane");
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(30), Clock.systemUTC());
    ca.writeTo(dir, false);
    issue(ca, Role.CONTROL, "eu-west", "control");
    issue(ca, Role.GATEWAY, "eu-west", "envoy-eu");
    issue(ca, Role.GATEWAY, "us-east", "envoy-us");
    issue(ca, Role.EDGE, "eu-west", "laptop");
    ControlSettings control = new ControlSettings("0.0.0.0", 0, false, "127.0.0.1", -1,
        Optional.of(new ControlSettings.Credentials(dir, "control")), Optional.of(dir), Duration.ofHours(24),
        Duration.ofMillis(200));
    MeshEndpoint core = MeshEndpoint.builder("core-inference", "10.0.0.1", 9443, TestMeshes.EU).build();
    MeshConfig config = new MeshConfig(TestMeshes.policy().withMtls(true), control, Optional.empty(), List.of(core));
    controlPlane = ControlPlane.builder(config).start();
  }

  @AfterAll
  void stop() throws java.io.IOException {
    if (controlPlane != null) {
      controlPlane.close();
    }
    try (var files = java.nio.file.Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private void issue(CertificateAuthority ca, Role role, String region, String name) throws Exception {
    ca.issue(LeafRequest.builder(role, region, name).validity(Duration.ofDays(1)).build()).writeTo(dir, false);
  }

  /** One ADS request as {@code identity}; the first response, or the stream's error. */
  private CompletableFuture<DiscoveryResponse> ask(String identity, Node node, String typeUrl, String... names)
      throws Exception {
    MeshTls tls = MeshTls.builder(MeshCredentialFiles.in(dir, identity)).build();
    ManagedChannel channel = MeshChannels.newChannel("127.0.0.1:" + controlPlane.xdsPort(), tls,
        ExpectedIdentity.roles(Role.CONTROL));
    CompletableFuture<DiscoveryResponse> first = AdsProbe.firstResponse(channel, node, typeUrl, names);
    first.whenComplete((r, t) -> {
      channel.shutdownNow();
      tls.close();
    });
    return first;
  }

  @Test
  void sds_gatewayOfTheRegion_getsItsIdentityAndTheTrustBundle() throws Exception {
    DiscoveryResponse response = ask("envoy-eu", node("envoy-eu-1", "envoy", "eu-west"),
        Resources.V3.SECRET_TYPE_URL, "infermesh-identity", "infermesh-trust-bundle").get(10, TimeUnit.SECONDS);
    assertThat(response.getResourcesCount()).isEqualTo(2);
    Secret identity = null;
    Secret trust = null;
    for (var any : response.getResourcesList()) {
      Secret s = any.unpack(Secret.class);
      if (s.getName().equals("infermesh-identity")) {
        identity = s;
      } else {
        trust = s;
      }
    }
    assertThat(identity).isNotNull();
    assertThat(trust).isNotNull();
    X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
        new ByteArrayInputStream(identity.getTlsCertificate().getCertificateChain().getInlineString()
            .getBytes(StandardCharsets.US_ASCII)));
    assertThat(SpiffeId.fromCertificate(leaf)).isEqualTo(new SpiffeId("mesh.local", "eu-west", Role.GATEWAY, "envoy"));
    assertThat(identity.getTlsCertificate().getPrivateKey().getInlineString()).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(trust.getValidationContext().getTrustedCa().getInlineString()).startsWith("-----BEGIN CERTIFICATE-----");
  }

  @Test
  void ads_edgeClaimingToBeEnvoy_isRefused() throws Exception {
    CompletableFuture<DiscoveryResponse> answer = ask("laptop", node("sneaky", "envoy", "eu-west"),
        Resources.V3.SECRET_TYPE_URL, "infermesh-identity");
    assertThat(answer).failsWithin(Duration.ofSeconds(10)).withThrowableThat()
        .satisfies(t -> assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
  }

  @Test
  void ads_gatewayOfAnotherRegion_cannotTakeThisRegionsIdentity() throws Exception {
    CompletableFuture<DiscoveryResponse> answer = ask("envoy-us", node("envoy-us-1", "envoy", "eu-west"),
        Resources.V3.SECRET_TYPE_URL, "infermesh-identity");
    assertThat(answer).failsWithin(Duration.ofSeconds(10)).withThrowableThat()
        .satisfies(t -> assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
  }

  @Test
  void ads_edgeAsProxylessClient_getsItsListener() throws Exception {
    // The stream stays open while the node table is read: a closed stream leaves the table.
    try (MeshTls tls = MeshTls.builder(MeshCredentialFiles.in(dir, "laptop")).build()) {
      ManagedChannel channel = MeshChannels.newChannel("127.0.0.1:" + controlPlane.xdsPort(), tls,
          ExpectedIdentity.roles(Role.CONTROL));
      try {
        DiscoveryResponse response = AdsProbe.firstResponse(channel, node("edge-1", "grpc", "eu-west"),
            Resources.V3.LISTENER_TYPE_URL, "core-inference").get(10, TimeUnit.SECONDS);
        assertThat(response.getResources(0).unpack(Listener.class).getName()).isEqualTo("core-inference");
        assertThat(controlPlane.nodes().nodes()).anySatisfy(n -> {
          assertThat(n.nodeId()).isEqualTo("edge-1");
          assertThat(n.peer()).isEqualTo("spiffe://mesh.local/eu-west/edge/laptop");
        });
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
