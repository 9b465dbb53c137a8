package io.infermesh.xds.snapshot;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Everything one service contributes to every group: its clusters (Envoy and, for gRPC services,
 * proxyless), their load assignments as seen from each region, its routes in Envoy's ingress, and
 * for gRPC its API listener and route configuration. A function of {@link Inputs} and the
 * mesh-wide policy alone, so {@link IncrementalSnapshotBuilder} reuses it until either changes.
 * Immutable.
 */
final class ServiceResources {

  /**
   * What a service's resources are built from besides the mesh-wide policy.
   *
   * @param endpoints the service's endpoints, in {@link MeshState} order
   * @param shares the burst share of each private region of this service (absent: 0)
   */
  record Inputs(ServicePolicy service, List<MeshEndpoint> endpoints, Map<String, Double> shares) {}

  final Inputs inputs;
  final List<Versioned<Cluster>> envoyClusters = new ArrayList<>();
  /** Empty unless the service speaks gRPC. */
  final List<Versioned<Cluster>> grpcClusters = new ArrayList<>();
  /** Per client region, one assignment per cluster in cluster order. */
  final Map<String, List<Versioned<ClusterLoadAssignment>>> endpointsByRegion = new HashMap<>();
  final List<Route> envoyRoutes;
  /** Null unless the service speaks gRPC. */
  final Versioned<Listener> grpcListener;
  /** Null unless the service speaks gRPC. */
  final Versioned<RouteConfiguration> grpcRoute;

  private ServiceResources(Inputs inputs, MeshPolicy policy, Set<String> regions) {
    this.inputs = inputs;
    ServicePolicy service = inputs.service();
    List<MeshEndpoint> endpoints = inputs.endpoints();
    boolean grpc = service.protocol() == Protocol.GRPC;
    Map<String, List<MeshEndpoint>> clusters = new LinkedHashMap<>();
    clusters.put(ResourceNames.cluster(service.name()), endpoints);
    Map<String, List<MeshEndpoint>> byVersion = new TreeMap<>();
    for (MeshEndpoint e : endpoints) {
      byVersion.computeIfAbsent(e.version(), k -> new ArrayList<>()).add(e);
    }
    for (String version : RouteResources.versions(service, byVersion.keySet())) {
      clusters.put(ResourceNames.cluster(service.name(), version), byVersion.getOrDefault(version, List.of()));
    }
    for (String name : clusters.keySet()) {
      envoyClusters.add(Versioned.of(ClusterResources.cluster(name, service, policy, DataPlane.ENVOY)));
      if (grpc) {
        grpcClusters.add(Versioned.of(ClusterResources.cluster(name, service, policy, DataPlane.GRPC)));
      }
    }
    EndpointResources assignments = new EndpointResources();
    for (String region : regions) {
      List<Versioned<ClusterLoadAssignment>> list = new ArrayList<>(clusters.size());
      for (Map.Entry<String, List<MeshEndpoint>> c : clusters.entrySet()) {
        list.add(assignments.versioned(
            c.getKey(), c.getValue(), region, r -> inputs.shares().getOrDefault(r, 0.0)));
      }
      endpointsByRegion.put(region, list);
    }
    envoyRoutes = RouteResources.envoyServiceRoutes(service, policy, endpoints);
    grpcListener = grpc ? Versioned.of(ListenerResources.grpcApiListener(service)) : null;
    grpcRoute = grpc ? Versioned.of(RouteResources.grpcService(service, policy, endpoints)) : null;
  }

  /** Builds every resource of the service; {@code regions} are the client regions, "" included. */
  static ServiceResources build(Inputs inputs, MeshPolicy policy, Set<String> regions) {
    return new ServiceResources(inputs, policy, regions);
  }
}
