package io.infermesh.xds.bench;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A proxyless client reduced to its xDS stream: subscribes to the listener, route, clusters and
 * endpoints of {@code core-inference} like grpc-xds does, and ACKs every response. Used to put
 * many nodes on a control plane cheaply.
 */
final class SimulatedXdsClient {

  private final StreamObserver<DiscoveryRequest> requests;
  final AtomicInteger responses = new AtomicInteger();

  SimulatedXdsClient(Channel channel, String nodeId, String region) {
    Node node = Node.newBuilder().setId(nodeId).setUserAgentName("gRPC Java").setMetadata(Struct.newBuilder()
        .putFields("infermesh.role", Value.newBuilder().setStringValue("grpc").build())
        .putFields("infermesh.region", Value.newBuilder().setStringValue(region).build())).build();
    AtomicReference<StreamObserver<DiscoveryRequest>> self =
        new AtomicReference<>();
    requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new StreamObserver<>() {
      @Override
      public void onNext(DiscoveryResponse r) {
        responses.incrementAndGet();
        synchronized (self) {
          self.get().onNext(DiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setVersionInfo(r.getVersionInfo())
              .setResponseNonce(r.getNonce()).addAllResourceNames(names(r.getTypeUrl())).build());
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    });
    self.set(requests);
    synchronized (self) {
      boolean first = true;
      for (String type : List.of(Resources.V3.LISTENER_TYPE_URL, Resources.V3.ROUTE_TYPE_URL,
          Resources.V3.CLUSTER_TYPE_URL, Resources.V3.ENDPOINT_TYPE_URL)) {
        DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setTypeUrl(type).addAllResourceNames(names(type));
        if (first) {
          b.setNode(node);
          first = false;
        }
        requests.onNext(b.build());
      }
    }
  }

  private static List<String> names(String type) {
    return switch (type) {
      case Resources.V3.CLUSTER_TYPE_URL -> List.of();
      case Resources.V3.ENDPOINT_TYPE_URL -> List.of("core-inference", "core-inference|v1");
      default -> List.of("core-inference");
    };
  }

  void close() {
    requests.onCompleted();
  }
}
