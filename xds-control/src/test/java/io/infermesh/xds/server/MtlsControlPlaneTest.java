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
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The control plane as deployed: xDS over mutual TLS with mesh identities, each gateway's own
 * certificate (issued ahead, no CA key on the control plane) served over SDS to that gateway only,
 * and what each caller may ask for.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MtlsControlPlaneTest {

  private Path dir;
  private Path elsewhere;

  private ControlPlane controlPlane;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("mtls-control-plane");
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(30), Clock.systemUTC());
    ca.writeTo(dir, false);
    issue(ca, Role.CONTROL, "eu-west", "control");
    issue(ca, Role.GATEWAY, "eu-west", "envoy-eu");
    issue(ca, Role.GATEWAY, "eu-west", "envoy-eu-2");
    issue(ca, Role.GATEWAY, "us-east", "envoy-us");
    issue(ca, Role.EDGE, "eu-west", "laptop");
    issue(ca, Role.OPERATOR, "eu-west", "ops");
    // a gateway whose certificate the control plane was never given
    elsewhere = Files.createTempDirectory("mtls-control-plane-elsewhere");
    ca.writeTo(elsewhere, false);
    ca.issue(LeafRequest.builder(Role.GATEWAY, "eu-west", "envoy-new").validity(Duration.ofDays(1)).build())
        .writeTo(elsewhere, false);
    Files.delete(dir.resolve(CertificateAuthority.PRIVATE_KEY_FILE)); // the control plane needs no CA key
    ControlSettings control = ControlSettings.builder().xds("0.0.0.0", 0).admin("127.0.0.1", -1)
        .credentials(new ControlSettings.Credentials(dir, "control")).refreshInterval(Duration.ofMillis(200)).build();
    MeshEndpoint core = MeshEndpoint.builder("core-inference", "10.0.0.1", 9443, TestMeshes.EU).build();
    MeshConfig config = new MeshConfig(TestMeshes.policy().withMtls(true), control, Optional.empty(), List.of(core));
    controlPlane = ControlPlane.builder(config).start();
  }

  @AfterAll
  void stop() throws IOException {
    if (controlPlane != null) {
      controlPlane.close();
    }
    for (Path d : new Path[] {dir, elsewhere}) {
      try (var files = Files.walk(d)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private void issue(CertificateAuthority ca, Role role, String region, String name) throws Exception {
    ca.issue(LeafRequest.builder(role, region, name).validity(Duration.ofDays(1)).build()).writeTo(dir, false);
  }

  /** One ADS request as {@code identity}; the first response, or the stream's error. */
  private CompletableFuture<DiscoveryResponse> ask(String identity, Node node, String typeUrl, String... names)
      throws Exception {
    return ask(MeshCredentialFiles.in(dir, identity), node, typeUrl, names);
  }

  private CompletableFuture<DiscoveryResponse> ask(MeshCredentialFiles files, Node node, String typeUrl,
      String... names) throws Exception {
    MeshTls tls = MeshTls.builder(files).build();
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
  void sds_gateway_getsItsOwnCertificateAndKeyAndTheTrustBundle() throws Exception {
    DiscoveryResponse response = ask("envoy-eu", node("envoy-eu", "envoy", "eu-west"),
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
    assertThat(SpiffeId.fromCertificate(leaf))
        .isEqualTo(new SpiffeId("mesh.local", "eu-west", Role.GATEWAY, "envoy-eu"));
    assertThat(identity.getTlsCertificate().getPrivateKey().getInlineString())
        .isEqualTo(Files.readString(dir.resolve("envoy-eu.key")));
    assertThat(trust.getValidationContext().getTrustedCa().getInlineString()).startsWith("-----BEGIN CERTIFICATE-----");
  }

  @Test
  void ads_operatorAskingAsAGatewaysEnvoy_isRefusedTheGatewaysKey() throws Exception {
    assertRefused(ask("ops", node("envoy-eu", "envoy", "eu-west"), Resources.V3.SECRET_TYPE_URL,
        "infermesh-identity"), Status.Code.PERMISSION_DENIED);
  }

  @Test
  void ads_gatewayAskingAsAnotherGatewayOfItsRegion_isRefused() throws Exception {
    assertRefused(ask("envoy-eu-2", node("envoy-eu", "envoy", "eu-west"), Resources.V3.SECRET_TYPE_URL,
        "infermesh-identity"), Status.Code.PERMISSION_DENIED);
  }

  @Test
  void ads_edgeClaimingToBeEnvoy_isRefused() throws Exception {
    assertRefused(ask("laptop", node("sneaky", "envoy", "eu-west"), Resources.V3.SECRET_TYPE_URL,
        "infermesh-identity"), Status.Code.PERMISSION_DENIED);
  }

  @Test
  void ads_gatewayOfAnotherRegion_cannotTakeThisRegionsIdentity() throws Exception {
    assertRefused(ask("envoy-us", node("envoy-us", "envoy", "eu-west"), Resources.V3.SECRET_TYPE_URL,
        "infermesh-identity"), Status.Code.PERMISSION_DENIED);
  }

  @Test
  void ads_gatewayWhoseCertificateTheControlPlaneLacks_failedPreconditionNamingTheIssueCommand() throws Exception {
    CompletableFuture<DiscoveryResponse> answer = ask(MeshCredentialFiles.in(elsewhere, "envoy-new"),
        node("envoy-new", "envoy", "eu-west"), Resources.V3.SECRET_TYPE_URL, "infermesh-identity");
    assertThat(answer).failsWithin(Duration.ofSeconds(10)).withThrowableThat().satisfies(t -> {
      assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(Status.fromThrowable(t).getDescription()).contains("infermesh certs issue --role gateway");
    });
  }

  @Test
  void ads_streamThatChangesItsNodeToAnEnvoy_isRefused() throws Exception {
    try (MeshTls tls = MeshTls.builder(MeshCredentialFiles.in(dir, "laptop")).build()) {
      ManagedChannel channel = MeshChannels.newChannel("127.0.0.1:" + controlPlane.xdsPort(), tls,
          ExpectedIdentity.roles(Role.CONTROL));
      try {
        CompletableFuture<Status> ended = new CompletableFuture<>();
        var requests = io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.newStub(channel)
            .streamAggregatedResources(new io.grpc.stub.StreamObserver<>() {
              @Override
              public void onNext(DiscoveryResponse r) {
                if (r.getTypeUrl().equals(Resources.V3.SECRET_TYPE_URL) && r.getResourcesCount() > 0) {
                  ended.completeExceptionally(new AssertionError("secrets reached an edge"));
                }
              }

              @Override
              public void onError(Throwable t) {
                ended.complete(Status.fromThrowable(t));
              }

              @Override
              public void onCompleted() {
                ended.complete(Status.OK);
              }
            });
        requests.onNext(io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest.newBuilder()
            .setNode(node("edge-1", "grpc", "eu-west")).setTypeUrl(Resources.V3.LISTENER_TYPE_URL)
            .addResourceNames("core-inference").build());
        requests.onNext(io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest.newBuilder()
            .setNode(node("envoy-eu", "envoy", "eu-west")).setTypeUrl(Resources.V3.SECRET_TYPE_URL)
            .addResourceNames("infermesh-identity").build());
        assertThat(ended.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  private static void assertRefused(CompletableFuture<DiscoveryResponse> answer, Status.Code code) {
    assertThat(answer).failsWithin(Duration.ofSeconds(10)).withThrowableThat()
        .satisfies(t -> assertThat(Status.fromThrowable(t).getCode()).isEqualTo(code));
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
