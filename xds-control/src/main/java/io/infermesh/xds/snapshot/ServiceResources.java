package io.infermesh.xds.snapshot;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * Everything one service contributes to every group: its clusters (Envoy and, for gRPC services,
 * proxyless), their load assignments as seen from each region, its routes in Envoy's ingress, and
 * for gRPC its API listener and route configuration. A function of {@link Inputs} and the
 * mesh-wide policy alone, so {@link IncrementalSnapshotBuilder} reuses it until either changes.
 * A rebuild takes over the previous build's resources that did not change (same instances, same
 * versions) and records which {@link Part}s changed. Immutable once built.
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
  /** {@link RouteResources#inputsDigest} for Envoy: the ingress's version is composed from it. */
  final byte[] routeInputs;
  /** {@link RouteResources#inputsDigest} for gRPC; null unless the service speaks gRPC. */
  private final byte[] grpcRouteInputs;
  /** Null unless the service speaks gRPC; set only while building. */
  Versioned<Listener> grpcListener;
  /** Null unless the service speaks gRPC; set only while building. */
  Versioned<RouteConfiguration> grpcRoute;
  /** The parts that differ from the previous build's (all of them for a first build). */
  Set<Part> changed = EnumSet.allOf(Part.class);

  private ServiceResources(Inputs inputs, MeshPolicy policy, ClusterResources.Templates templates, Set<String> regions) {
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
    if (byVersion.size() == 1) { // the only version's cluster holds the same list: planned and built once
      byVersion.replaceAll((version, list) -> endpoints);
    }
    for (String version : RouteResources.versions(service, byVersion.keySet())) {
      clusters.put(ResourceNames.cluster(service.name(), version), byVersion.getOrDefault(version, List.of()));
    }
    ClusterResources.Named envoy = templates.of(service, DataPlane.ENVOY);
    ClusterResources.Named proxyless = grpc ? templates.of(service, DataPlane.GRPC) : null;
    for (String name : clusters.keySet()) {
      envoyClusters.add(envoy.cluster(name));
      if (grpc) {
        grpcClusters.add(proxyless.cluster(name));
      }
    }
    EndpointResources assignments = new EndpointResources();
    ToDoubleFunction<String> share = r -> inputs.shares().getOrDefault(r, 0.0); // one instance: plans are cached by it
    for (String region : regions) {
      List<Versioned<ClusterLoadAssignment>> list = new ArrayList<>(clusters.size());
      for (Map.Entry<String, List<MeshEndpoint>> c : clusters.entrySet()) {
        list.add(assignments.versioned(c.getKey(), c.getValue(), region, share));
      }
      endpointsByRegion.put(region, list);
    }
    envoyRoutes = RouteResources.envoyServiceRoutes(service, policy, endpoints);
    routeInputs = RouteResources.inputsDigest(service, policy, endpoints, DataPlane.ENVOY);
    grpcRouteInputs = grpc ? RouteResources.inputsDigest(service, policy, endpoints, DataPlane.GRPC) : null;
    grpcListener = grpc ? ListenerResources.grpcApiListenerVersioned(service) : null;
    grpcRoute = grpc ? RouteResources.grpcServiceVersioned(service, policy, endpoints, grpcRouteInputs) : null;
  }

  /** What a service's resources feed: the collections that must be reassembled when it changes. */
  enum Part { CLUSTERS, ENDPOINTS, LISTENERS, ROUTES }

  /**
   * Takes over from {@code previous} (the same service's last build) every resource whose digest
   * did not change, so unchanged resources keep their identity, and says which parts changed.
   */
  private Set<Part> keepUnchanged(ServiceResources previous) {
    Set<Part> changed = EnumSet.noneOf(Part.class);
    if (keep(envoyClusters, previous.envoyClusters) | keep(grpcClusters, previous.grpcClusters)) {
      changed.add(Part.CLUSTERS);
    }
    for (Map.Entry<String, List<Versioned<ClusterLoadAssignment>>> e : endpointsByRegion.entrySet()) {
      List<Versioned<ClusterLoadAssignment>> before = previous.endpointsByRegion.get(e.getKey());
      if (before == null || keep(e.getValue(), before)) {
        changed.add(Part.ENDPOINTS);
      }
    }
    if ((grpcListener == null) != (previous.grpcListener == null)) {
      changed.add(Part.ENDPOINTS); // proxyless groups gain or lose its assignments
    }
    if (same(grpcListener, previous.grpcListener)) {
      grpcListener = previous.grpcListener;
    } else {
      changed.add(Part.LISTENERS);
    }
    if (same(grpcRoute, previous.grpcRoute) && Arrays.equals(routeInputs, previous.routeInputs)) {
      grpcRoute = previous.grpcRoute;
    } else {
      changed.add(Part.ROUTES);
    }
    return changed;
  }

  /** Replaces each resource of {@code now} equal to the one at its index before; true if any differ. */
  private static <T extends Message> boolean keep(List<Versioned<T>> now, List<Versioned<T>> before) {
    boolean changed = now.size() != before.size();
    for (int i = 0; i < now.size(); i++) {
      if (i < before.size() && Arrays.equals(now.get(i).digest(), before.get(i).digest())) {
        now.set(i, before.get(i));
      } else {
        changed = true;
      }
    }
    return changed;
  }

  private static boolean same(Versioned<?> a, Versioned<?> b) {
    return a == null ? b == null : b != null && Arrays.equals(a.digest(), b.digest());
  }

  /**
   * Builds every resource of the service; {@code templates} are bound to {@code policy}'s
   * mesh-wide parts, {@code regions} are the client regions, "" included.
   */
  static ServiceResources build(
      Inputs inputs, MeshPolicy policy, ClusterResources.Templates templates, Set<String> regions) {
    return new ServiceResources(inputs, policy, templates, regions);
  }

  /**
   * Rebuilds the service, keeping {@code previous}'s resources (built under the same mesh-wide
   * policy, templates and regions) where they did not change.
   */
  static ServiceResources rebuild(Inputs inputs, MeshPolicy policy, ClusterResources.Templates templates,
      Set<String> regions, ServiceResources previous) {
    ServiceResources built = new ServiceResources(inputs, policy, templates, regions);
    built.changed = built.keepUnchanged(previous);
    return built;
  }
}
