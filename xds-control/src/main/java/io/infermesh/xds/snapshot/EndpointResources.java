package io.infermesh.xds.snapshot;

import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Builds EDS {@link ClusterLoadAssignment}s from a {@link LocalityPlanner} plan. An instance
 * caches each endpoint's {@link LbEndpoint} (it does not depend on the client's region), so one
 * instance should serve one snapshot build. Not thread-safe.
 */
final class EndpointResources {

  /** Endpoint metadata namespace: id, model, version and tier of each endpoint. */
  static final String METADATA_NAMESPACE = "infermesh";

  private final Map<MeshEndpoint, LbEndpoint> lbEndpoints = new IdentityHashMap<>();

  /** A one-off assignment (tests, tools). */
  static ClusterLoadAssignment assignment(
      String clusterName, List<MeshEndpoint> endpoints, String clientRegion, ToDoubleFunction<String> burstShare) {
    return new EndpointResources().build(clusterName, endpoints, clientRegion, burstShare);
  }

  ClusterLoadAssignment build(
      String clusterName, List<MeshEndpoint> endpoints, String clientRegion, ToDoubleFunction<String> burstShare) {
    ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName(clusterName);
    for (LocalityPlanner.PlannedLocality planned : LocalityPlanner.plan(endpoints, clientRegion, burstShare)) {
      LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder()
          .setLocality(Locality.newBuilder()
              .setRegion(planned.locality().region())
              .setZone(planned.locality().zone()))
          .setPriority(planned.priority())
          .setLoadBalancingWeight(UInt32Value.of(planned.weight()));
      for (MeshEndpoint e : planned.endpoints()) {
        locality.addLbEndpoints(lbEndpoints.computeIfAbsent(e, EndpointResources::lbEndpoint));
      }
      cla.addEndpoints(locality);
    }
    return cla.build();
  }

  private static LbEndpoint lbEndpoint(MeshEndpoint e) {
    return LbEndpoint.newBuilder()
        .setEndpoint(Endpoint.newBuilder()
            .setAddress(Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder()
                    .setAddress(e.host())
                    .setPortValue(e.port()))))
        .setHealthStatus(switch (e.health()) {
          case HEALTHY -> HealthStatus.HEALTHY;
          case UNHEALTHY -> HealthStatus.UNHEALTHY;
          case DRAINING -> HealthStatus.DRAINING;
        })
        .setMetadata(Metadata.newBuilder()
            .putFilterMetadata(METADATA_NAMESPACE, Struct.newBuilder()
                .putFields("id", string(e.id()))
                .putFields("model", string(e.model()))
                .putFields("version", string(e.version()))
                .putFields("tier", string(e.tier().yamlName()))
                .build()))
        .build();
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }
}
