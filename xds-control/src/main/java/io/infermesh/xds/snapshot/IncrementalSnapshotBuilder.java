package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@link MeshSnapshotBuilder} that remembers what it built: each service's resources are kept
 * with the inputs they came from (the service's policy, its endpoints, its burst shares) and
 * rebuilt only when those or the mesh-wide policy change; the collections every group shares are
 * reassembled only when some service changed. Unchanged resources keep their content versions,
 * so the cache pushes clients only what changed. The output always equals a fresh build's.
 *
 * <p>Not thread-safe: confine an instance to one thread (the publisher's executor).
 */
public final class IncrementalSnapshotBuilder {

  /** The parts of the policy every service's resources depend on. */
  private record MeshWide(String trustDomain, List<RegionPolicy> regions, UpstreamPolicy upstream,
      EnvoyPolicy envoy, boolean mtls) {}

  /** The shared collections: a function of the services' resources and the mesh-wide policy. */
  private record Assembled(
      SnapshotResources<Cluster> envoyClusters,
      SnapshotResources<Cluster> grpcClusters,
      Map<String, SnapshotResources<ClusterLoadAssignment>> envoyEndpoints,
      Map<String, SnapshotResources<ClusterLoadAssignment>> grpcEndpoints,
      SnapshotResources<Listener> envoyListeners,
      SnapshotResources<Listener> grpcListeners,
      SnapshotResources<RouteConfiguration> envoyRoutes,
      SnapshotResources<RouteConfiguration> grpcRoutes) {}

  private MeshWide meshWide;
  private Set<String> regions = Set.of();
  private Map<String, ServiceResources> services = new HashMap<>();
  private List<ServicePolicy> assembledFor = List.of();
  private Assembled assembled;
  private long servicesBuilt;

  /** Builds every group's snapshot, reusing what the inputs did not change. */
  public MeshSnapshots build(MeshState state, MeshPolicy policy, BurstShares shares, SecretMaterial secrets) {
    requireNonNull(state, "state");
    requireNonNull(policy, "policy");
    requireNonNull(shares, "shares");
    requireNonNull(secrets, "secrets");

    MeshWide wide = new MeshWide(policy.trustDomain(), policy.regions(), policy.upstream(), policy.envoy(),
        policy.mtls());
    if (!wide.equals(meshWide)) {
      meshWide = wide;
      Set<String> names = new LinkedHashSet<>();
      policy.regions().forEach(r -> names.add(r.name()));
      names.add("");
      regions = names;
      services = new HashMap<>();
      assembled = null;
    }

    Map<String, List<MeshEndpoint>> byService = new HashMap<>();
    for (MeshEndpoint e : state.endpoints()) {
      byService.computeIfAbsent(e.service(), k -> new ArrayList<>()).add(e);
    }
    Map<String, Map<String, Double>> sharesByService = new HashMap<>();
    shares.shares().forEach((k, v) -> sharesByService.computeIfAbsent(k.service(), s -> new HashMap<>()).put(k.region(), v));

    Map<String, ServiceResources> next = new HashMap<>();
    boolean changed = false;
    for (ServicePolicy service : policy.services()) {
      ServiceResources.Inputs inputs = new ServiceResources.Inputs(service,
          byService.getOrDefault(service.name(), List.of()), sharesByService.getOrDefault(service.name(), Map.of()));
      ServiceResources resources = services.get(service.name());
      if (resources == null || !resources.inputs.equals(inputs)) {
        resources = ServiceResources.build(inputs, policy, regions);
        servicesBuilt++;
        changed = true;
      }
      next.put(service.name(), resources);
    }
    services = next;
    if (changed || assembled == null || !assembledFor.equals(policy.services())) {
      assembled = assemble(policy);
      assembledFor = policy.services();
    }
    return new MeshSnapshots(groups(assembled, policy, secrets));
  }

  /** How many times a service's resources were built, since this builder was made. */
  public long servicesBuilt() {
    return servicesBuilt;
  }

  private Assembled assemble(MeshPolicy policy) {
    List<Versioned<Cluster>> envoyClusters = new ArrayList<>();
    List<Versioned<Cluster>> grpcClusters = new ArrayList<>();
    Map<String, List<Versioned<ClusterLoadAssignment>>> envoyEndpoints = new HashMap<>();
    Map<String, List<Versioned<ClusterLoadAssignment>>> grpcEndpoints = new HashMap<>();
    List<Versioned<Listener>> grpcListeners = new ArrayList<>();
    List<Versioned<RouteConfiguration>> grpcRoutes = new ArrayList<>();
    for (String region : regions) {
      envoyEndpoints.put(region, new ArrayList<>());
      grpcEndpoints.put(region, new ArrayList<>());
    }
    for (ServicePolicy service : policy.services()) {
      ServiceResources r = services.get(service.name());
      envoyClusters.addAll(r.envoyClusters);
      grpcClusters.addAll(r.grpcClusters);
      for (String region : regions) {
        List<Versioned<ClusterLoadAssignment>> assignments = r.endpointsByRegion.get(region);
        envoyEndpoints.get(region).addAll(assignments);
        if (r.grpcListener != null) {
          grpcEndpoints.get(region).addAll(assignments);
        }
      }
      if (r.grpcListener != null) {
        grpcListeners.add(r.grpcListener);
        grpcRoutes.add(r.grpcRoute);
      }
    }
    Versioned<RouteConfiguration> ingress = Versioned.of(
        RouteResources.envoyIngress(policy.services(), s -> services.get(s.name()).envoyRoutes));
    Map<String, SnapshotResources<ClusterLoadAssignment>> envoyByRegion = new HashMap<>();
    Map<String, SnapshotResources<ClusterLoadAssignment>> grpcByRegion = new HashMap<>();
    for (String region : regions) {
      envoyByRegion.put(region, collection(envoyEndpoints.get(region)));
      grpcByRegion.put(region, collection(grpcEndpoints.get(region)));
    }
    return new Assembled(collection(envoyClusters), collection(grpcClusters), envoyByRegion, grpcByRegion,
        collection(List.of(Versioned.of(ListenerResources.envoyIngress(policy)))), collection(grpcListeners),
        collection(List.of(ingress)), collection(grpcRoutes));
  }

  private Map<XdsGroup, Snapshot> groups(Assembled a, MeshPolicy policy, SecretMaterial secrets) {
    Map<XdsGroup, Snapshot> snapshots = new HashMap<>();
    SnapshotResources<Secret> trustOnly = secrets(policy.mtls() ? SecretResources.envoySecrets(secrets, "") : List.of());
    SnapshotResources<Secret> none = secrets(List.of());
    for (String region : regions) {
      snapshots.put(new XdsGroup(DataPlane.ENVOY, region), new GroupSnapshot(a.envoyClusters(),
          a.envoyEndpoints().get(region), a.envoyListeners(), a.envoyRoutes(), trustOnly));
      snapshots.put(new XdsGroup(DataPlane.GRPC, region), new GroupSnapshot(a.grpcClusters(),
          a.grpcEndpoints().get(region), a.grpcListeners(), a.grpcRoutes(), none));
    }
    if (policy.mtls()) {
      // one group per gateway: its own certificate and key, never another's
      for (String id : secrets.identitiesBySpiffeId().keySet()) {
        String region = regionOf(id);
        snapshots.put(new XdsGroup(DataPlane.ENVOY, region, id), new GroupSnapshot(a.envoyClusters(),
            a.envoyEndpoints().get(region), a.envoyListeners(), a.envoyRoutes(),
            secrets(SecretResources.envoySecrets(secrets, id))));
      }
    }
    return snapshots;
  }

  /** The listed region of the SPIFFE ID {@code id} ({@code spiffe://td/<region>/...}), else "". */
  private String regionOf(String id) {
    String[] parts = id.split("/", -1); // spiffe:, "", td, region, role, name
    return parts.length > 3 && regions.contains(parts[3]) ? parts[3] : "";
  }

  private static SnapshotResources<Secret> secrets(List<Secret> secrets) {
    return collection(secrets.stream().map(Versioned::of).toList());
  }

  /** One type's resources under their content version. */
  private static <T extends Message> SnapshotResources<T> collection(List<Versioned<T>> resources) {
    String version = ResourceVersions.of(resources);
    return SnapshotResources.create(resources.stream().map(Versioned::versioned).toList(), names -> version);
  }
}
