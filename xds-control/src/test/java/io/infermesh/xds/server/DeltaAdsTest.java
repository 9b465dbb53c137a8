package io.infermesh.xds.server;

import static io.infermesh.xds.testing.TestMeshes.EU;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.xds.config.ControlSettings;
import io.infermesh.xds.config.MeshConfig;
import io.infermesh.xds.discovery.EndpointSource;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.ResourceNames;
import io.infermesh.xds.testing.AdsProbe;
import io.infermesh.xds.testing.TestMeshes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * java-control-plane's incremental xDS ({@code DeltaAggregatedResources}) against our server, over
 * mTLS with a mesh identity: a raw delta ADS stream subscribes to every cluster (wildcard), gets
 * them, ACKs, then sees only what a discovery change added, and then its removal as
 * {@code removed_resources}.
 */
class DeltaAdsTest {

  private Path dir;
  private ControlPlane controlPlane;
  private MeshTls tls;
  private ManagedChannel channel;
  private volatile Consumer<List<MeshEndpoint>> discovered;

  /** Endpoints this test sets, as Consul would deliver them. */
  private final EndpointSource source = new EndpointSource() {
    @Override
    public String name() {
      return "test";
    }

    @Override
    public void start(Consumer<List<MeshEndpoint>> listener) {
      discovered = listener;
      listener.accept(List.of(endpoint("eu-1", "v1")));
    }

    @Override
    public void close() {}
  };

  private static MeshEndpoint endpoint(String id, String version) {
    return MeshEndpoint.builder("core-inference", "10.0.0." + (id.hashCode() & 0x7f), 9443, EU)
        .id(id).version(version).build();
  }

  @BeforeEach
  void start() throws Exception {
    dir = Files.createTempDirectory("delta-ads");
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(30), Clock.systemUTC());
    ca.writeTo(dir, false);
    ca.issue(LeafRequest.builder(Role.CONTROL, EU, "control").validity(Duration.ofDays(1)).build()).writeTo(dir, false);
    ca.issue(LeafRequest.builder(Role.EDGE, EU, "edge-1").validity(Duration.ofDays(1)).build()).writeTo(dir, false);
    ControlSettings control = ControlSettings.builder().xds("127.0.0.1", 0).admin("127.0.0.1", -1)
        .credentials(new ControlSettings.Credentials(dir, "control")).refreshInterval(Duration.ofMillis(100)).build();
    controlPlane = ControlPlane.builder(new MeshConfig(TestMeshes.policy(), control, Optional.empty(), List.of()))
        .addSource(source).start();
    tls = MeshTls.builder(MeshCredentialFiles.in(dir, "edge-1")).build();
    channel = MeshChannels.newChannel("127.0.0.1:" + controlPlane.xdsPort(), tls, ExpectedIdentity.roles(Role.CONTROL));
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (tls != null) {
      tls.close();
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
    try (var files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void deltaAds_wildcardClusters_getsThemThenOnlyTheAdditionThenItsRemoval() throws Exception {
    BlockingQueue<Object> received = new LinkedBlockingQueue<>();
    StreamObserver<DeltaDiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
        .deltaAggregatedResources(new StreamObserver<>() {
          @Override
          public void onNext(DeltaDiscoveryResponse r) {
            received.add(r);
          }

          @Override
          public void onError(Throwable t) {
            received.add(t);
          }

          @Override
          public void onCompleted() {
            received.add("completed");
          }
        });
    String v1 = ResourceNames.cluster("core-inference", "v1");
    String v9 = ResourceNames.cluster("core-inference", "v9");
    try {
      requests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(AdsProbe.node("edge-delta", "grpc", EU))
          .setTypeUrl(Resources.V3.CLUSTER_TYPE_URL).build()); // no names: the wildcard subscription

      DeltaDiscoveryResponse first = next(received);
      assertThat(first.getTypeUrl()).isEqualTo(Resources.V3.CLUSTER_TYPE_URL);
      assertThat(first.getResourcesList()).extracting(Resource::getName).contains("core-inference", v1)
          .doesNotContain(v9);
      assertThat(first.getResourcesList()).allSatisfy(r -> assertThat(r.getVersion()).isNotEmpty());
      ack(requests, first);
      assertThat(controlPlane.nodes().nodes()).anySatisfy(n -> {
        assertThat(n.nodeId()).isEqualTo("edge-delta");
        assertThat(n.peer()).isEqualTo("spiffe://mesh.local/eu-west/edge/edge-1");
      });

      discovered.accept(List.of(endpoint("eu-1", "v1"), endpoint("eu-9", "v9")));
      DeltaDiscoveryResponse added = next(received);
      assertThat(added.getResourcesList()).extracting(Resource::getName).as("only what changed").contains(v9)
          .doesNotContain(v1);
      assertThat(added.getRemovedResourcesList()).isEmpty();
      ack(requests, added);

      discovered.accept(List.of(endpoint("eu-1", "v1")));
      DeltaDiscoveryResponse removed = next(received);
      assertThat(removed.getRemovedResourcesList()).containsExactly(v9);
      assertThat(removed.getResourcesList()).extracting(Resource::getName).doesNotContain(v1, v9);
      ack(requests, removed);
    } finally {
      requests.onCompleted();
    }
  }

  private static DeltaDiscoveryResponse next(BlockingQueue<Object> received) throws InterruptedException {
    Object o = received.poll(10, TimeUnit.SECONDS);
    assertThat(o).as("a delta response within 10 s").isInstanceOf(DeltaDiscoveryResponse.class);
    return (DeltaDiscoveryResponse) o;
  }

  private static void ack(StreamObserver<DeltaDiscoveryRequest> requests, DeltaDiscoveryResponse response) {
    requests.onNext(DeltaDiscoveryRequest.newBuilder().setTypeUrl(response.getTypeUrl())
        .setResponseNonce(response.getNonce()).build());
  }
}
