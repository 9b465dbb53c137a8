package io.infermesh.xds.testing;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import io.infermesh.xds.snapshot.MeshNodeGroup;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** One ADS request on a raw channel, for tests that check who the control plane answers. */
public final class AdsProbe {

  private AdsProbe() {}

  /** A node with the metadata {@link MeshNodeGroup} groups by. */
  public static Node node(String id, String role, String region) {
    return Node.newBuilder().setId(id).setMetadata(Struct.newBuilder()
            .putFields(MeshNodeGroup.ROLE_KEY, Value.newBuilder().setStringValue(role).build())
            .putFields(MeshNodeGroup.REGION_KEY, Value.newBuilder().setStringValue(region).build()))
        .build();
  }

  /** Opens an ADS stream, sends one request; the first response, or the stream's error. */
  public static CompletableFuture<DiscoveryResponse> firstResponse(Channel channel, Node node, String typeUrl,
      String... names) {
    CompletableFuture<DiscoveryResponse> first = new CompletableFuture<>();
    StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
        .streamAggregatedResources(new StreamObserver<>() {
          @Override
          public void onNext(DiscoveryResponse r) {
            first.complete(r);
          }

          @Override
          public void onError(Throwable t) {
            first.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            first.completeExceptionally(new IllegalStateException("stream completed"));
          }
        });
    requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl)
        .addAllResourceNames(List.of(names)).build());
    return first;
  }
}
