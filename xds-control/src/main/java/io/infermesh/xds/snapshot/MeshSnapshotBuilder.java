package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Turns a {@link MeshState} and a {@link MeshPolicy} (plus the burst shares in force and the SDS
 * material) into one xDS snapshot per {@link XdsGroup}: for each data plane, one group per region
 * the policy lists and one for nodes of unknown region.
 *
 * <p>Per group:
 *
 * <ul>
 *   <li><b>Envoy</b> — listener {@code ingress}, route configuration {@code ingress}, every
 *       service's clusters ({@code service} and {@code service|version}), their endpoints as seen
 *       from the group's region, and the SDS secret {@code infermesh-trust-bundle}. Besides, one
 *       group per gateway certificate in the {@link SecretMaterial} ({@link XdsGroup#identity()}):
 *       the same resources for the gateway's region plus {@code infermesh-identity}, its own
 *       certificate and key.
 *   <li><b>Proxyless gRPC</b> — for each gRPC service an API listener and a route configuration
 *       named as the service, the same clusters without Envoy-only settings, and the same
 *       endpoints.
 * </ul>
 *
 * <p>Versions are content hashes per resource type, so an unchanged type is never resent.
 * Pure and thread-safe (stateless); cost is linear in groups × endpoints.
 */
public final class MeshSnapshotBuilder {

  private MeshSnapshotBuilder() {}

  /** Builds every group's snapshot. */
  public static MeshSnapshots build(
      MeshState state, MeshPolicy policy, BurstShares shares, SecretMaterial secrets) {
    requireNonNull(state, "state");
    requireNonNull(policy, "policy");
    requireNonNull(shares, "shares");
    requireNonNull(secrets, "secrets");

    Set<String> regions = new LinkedHashSet<>();
    policy.regions().forEach(r -> regions.add(r.name()));
    regions.add("");

    List<ServicePolicy> grpcServices =
        policy.services().stream().filter(s -> s.protocol() == Protocol.GRPC).toList();
    Set<String> grpcClusterNames = new HashSet<>();

    Map<String, List<MeshEndpoint>> byService = new HashMap<>();
    for (MeshEndpoint e : state.endpoints()) {
      byService.computeIfAbsent(e.service(), k -> new ArrayList<>()).add(e);
    }
    ResourceVersions versions = new ResourceVersions();
    EndpointResources endpointResources = new EndpointResources();
    Typed<Cluster> envoyClusters = new Typed<>(new ArrayList<>());
    Typed<Cluster> grpcClusters = new Typed<>(new ArrayList<>());
    Map<String, List<MeshEndpoint>> clusterEndpoints = new LinkedHashMap<>();
    Map<String, String> clusterService = new HashMap<>();
    for (ServicePolicy service : policy.services()) {
      List<MeshEndpoint> endpoints = byService.getOrDefault(service.name(), List.of());
      Map<String, List<MeshEndpoint>> clusters = new LinkedHashMap<>();
      clusters.put(ResourceNames.cluster(service.name()), endpoints);
      Map<String, List<MeshEndpoint>> byVersion = new TreeMap<>();
      for (MeshEndpoint e : endpoints) {
        byVersion.computeIfAbsent(e.version(), k -> new ArrayList<>()).add(e);
      }
      for (String version : RouteResources.versions(service, byVersion.keySet())) {
        clusters.put(ResourceNames.cluster(service.name(), version), byVersion.getOrDefault(version, List.of()));
      }
      for (Map.Entry<String, List<MeshEndpoint>> c : clusters.entrySet()) {
        clusterEndpoints.put(c.getKey(), c.getValue());
        clusterService.put(c.getKey(), service.name());
        envoyClusters.resources.add(ClusterResources.cluster(c.getKey(), service, policy, DataPlane.ENVOY));
        if (service.protocol() == Protocol.GRPC) {
          grpcClusters.resources.add(ClusterResources.cluster(c.getKey(), service, policy, DataPlane.GRPC));
          grpcClusterNames.add(c.getKey());
        }
      }
    }

    Typed<Listener> envoyListeners = new Typed<>(List.of(ListenerResources.envoyIngress(policy)));
    Typed<RouteConfiguration> envoyRoutes = new Typed<>(List.of(RouteResources.envoyIngress(policy, byService)));
    Typed<Listener> grpcListeners = new Typed<>(
        grpcServices.stream().map(ListenerResources::grpcApiListener).toList());
    Typed<RouteConfiguration> grpcRoutes = new Typed<>(
        grpcServices.stream().map(s -> RouteResources.grpcService(s, policy, byService)).toList());

    Map<XdsGroup, Snapshot> snapshots = new HashMap<>();
    Map<String, Typed<ClusterLoadAssignment>> envoyEndpointsByRegion = new HashMap<>();
    Typed<Secret> trustOnly = new Typed<>(policy.mtls() ? SecretResources.envoySecrets(secrets, "") : List.of());
    for (String region : regions) {
      List<ClusterLoadAssignment> all = new ArrayList<>(clusterEndpoints.size());
      List<ClusterLoadAssignment> grpcOnly = new ArrayList<>(grpcClusterNames.size());
      for (Map.Entry<String, List<MeshEndpoint>> c : clusterEndpoints.entrySet()) {
        String service = clusterService.get(c.getKey());
        ClusterLoadAssignment cla = endpointResources.build(
            c.getKey(), c.getValue(), region, r -> shares.share(service, r));
        all.add(cla);
        if (grpcClusterNames.contains(c.getKey())) {
          grpcOnly.add(cla);
        }
      }
      Typed<ClusterLoadAssignment> envoyEndpoints = new Typed<>(all);
      envoyEndpointsByRegion.put(region, envoyEndpoints);
      Typed<ClusterLoadAssignment> grpcEndpoints = new Typed<>(grpcOnly);
      snapshots.put(new XdsGroup(DataPlane.ENVOY, region),
          snapshot(versions, envoyClusters, envoyEndpoints, envoyListeners, envoyRoutes, trustOnly));
      snapshots.put(new XdsGroup(DataPlane.GRPC, region),
          snapshot(versions, grpcClusters, grpcEndpoints, grpcListeners, grpcRoutes, new Typed<>(List.of())));
    }
    if (policy.mtls()) {
      // one group per gateway: its own certificate and key, never another's
      for (String id : secrets.identitiesBySpiffeId().keySet()) {
        String region = regionOf(id, regions);
        Typed<Secret> own = new Typed<>(SecretResources.envoySecrets(secrets, id));
        snapshots.put(new XdsGroup(DataPlane.ENVOY, region, id), snapshot(versions, envoyClusters,
            envoyEndpointsByRegion.get(region), envoyListeners, envoyRoutes, own));
      }
    }
    return new MeshSnapshots(snapshots);
  }

  /** The listed region of the SPIFFE ID {@code id} ({@code spiffe://td/<region>/...}), else "". */
  private static String regionOf(String id, Set<String> regions) {
    String[] parts = id.split("/", -1); // spiffe:, "", td, region, role, name
    return parts.length > 3 && regions.contains(parts[3]) ? parts[3] : "";
  }

  private static Snapshot snapshot(
      ResourceVersions versions,
      Typed<Cluster> clusters,
      Typed<ClusterLoadAssignment> endpoints,
      Typed<Listener> listeners,
      Typed<RouteConfiguration> routes,
      Typed<Secret> secrets) {
    return Snapshot.create(
        clusters.resources, clusters.version(versions),
        endpoints.resources, endpoints.version(versions),
        listeners.resources, listeners.version(versions),
        routes.resources, routes.version(versions),
        secrets.resources, secrets.version(versions));
  }

  /** Resources of one type with their lazily computed content version. */
  private static final class Typed<T extends com.google.protobuf.Message> {
    final List<T> resources;
    private String version;

    Typed(List<T> resources) {
      this.resources = resources;
    }

    String version(ResourceVersions versions) {
      if (version == null) {
        version = versions.of(resources);
      }
      return version;
    }
  }
}
