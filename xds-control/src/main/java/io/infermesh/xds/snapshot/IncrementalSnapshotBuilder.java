package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;

/**
 * {@link MeshSnapshotBuilder} that remembers what it built: each service's resources are kept
 * with the inputs they came from (the service's policy, its endpoints, its burst shares) and
 * rebuilt only when those or the mesh-wide policy change; the collections every group shares are
 * reassembled only for the resource types some service's resources changed in (an endpoint's
 * health reassembles load assignments, not clusters). A rebuilt service keeps the instances of
 * its resources that did not change. Unchanged resources keep their content versions, so the
 * cache pushes clients only what changed. The output always equals a fresh build's.
 *
 * <p>Not thread-safe: confine an instance to one thread (the publisher's executor). With a pool,
 * many services' builds fan out over it and are joined before {@link #build} returns.
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

  /** Below this many services to build, one thread builds them: a fork costs more than it saves. */
  static final int PARALLEL_MIN_SERVICES = 64;

  private final ForkJoinPool pool;
  private MeshWide meshWide;
  private Set<String> regions = Set.of();
  private ClusterResources.Templates templates;
  private Map<String, ServiceResources> services = new HashMap<>();
  private List<ServicePolicy> assembledFor = List.of();
  private Assembled assembled;
  private long servicesBuilt;

  /** A builder that builds every service on the calling thread. */
  public IncrementalSnapshotBuilder() {
    this.pool = null;
  }

  /**
   * A builder that builds services on {@code pool} (in as many slices as its parallelism) when
   * at least {@value #PARALLEL_MIN_SERVICES} services must be built, as after a start or a
   * mesh-wide change; the calling thread waits. The snapshots, versions included, are the same
   * as a one-thread build's.
   */
  public IncrementalSnapshotBuilder(ForkJoinPool pool) {
    this.pool = requireNonNull(pool, "pool");
  }

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
      templates = new ClusterResources.Templates(policy);
      services = new HashMap<>();
      assembled = null;
    }

    Map<String, List<MeshEndpoint>> byService = new HashMap<>();
    for (MeshEndpoint e : state.endpoints()) {
      byService.computeIfAbsent(e.service(), k -> new ArrayList<>()).add(e);
    }
    Map<String, Map<String, Double>> sharesByService = new HashMap<>();
    shares.shares().forEach((k, v) -> sharesByService.computeIfAbsent(k.service(), s -> new HashMap<>()).put(k.region(), v));

    List<ServicePolicy> all = policy.services();
    ServiceResources.Inputs[] stale = new ServiceResources.Inputs[all.size()]; // null: reused as it is
    ServiceResources[] built = new ServiceResources[all.size()];
    int toBuild = 0;
    for (int i = 0; i < stale.length; i++) {
      ServicePolicy service = all.get(i);
      ServiceResources.Inputs inputs = new ServiceResources.Inputs(service,
          byService.getOrDefault(service.name(), List.of()), sharesByService.getOrDefault(service.name(), Map.of()));
      ServiceResources resources = services.get(service.name());
      built[i] = resources;
      if (resources == null || !resources.inputs.equals(inputs)) {
        stale[i] = inputs;
        templates.prepare(service); // the templates are only read while services build
        toBuild++;
      }
    }
    buildStale(stale, built, policy, toBuild);
    Map<String, ServiceResources> next = new HashMap<>(all.size() * 4 / 3 + 1);
    Set<ServiceResources.Part> changed = EnumSet.noneOf(ServiceResources.Part.class);
    for (int i = 0; i < built.length; i++) {
      if (stale[i] != null) {
        servicesBuilt++;
        changed.addAll(built[i].changed);
      }
      next.put(all.get(i).name(), built[i]);
    }
    services = next;
    if (assembled == null || !assembledFor.equals(policy.services())) {
      assembled = assemble(policy, EnumSet.allOf(ServiceResources.Part.class), null);
      assembledFor = policy.services();
    } else if (!changed.isEmpty()) {
      assembled = assemble(policy, changed, assembled);
    }
    return new MeshSnapshots(groups(assembled, policy, secrets));
  }

  /**
   * Builds (or rebuilds over {@code built[i]}) each service whose {@code stale[i]} inputs are
   * set, into {@code built[i]}: on the pool in contiguous slices when there is one and enough to
   * build, else here. Each service's build reads only its inputs, the policy, the regions and the
   * prepared templates, and writes only its own slot, so the result does not depend on the split.
   */
  private void buildStale(ServiceResources.Inputs[] stale, ServiceResources[] built, MeshPolicy policy, int count) {
    int slices = pool == null || count < PARALLEL_MIN_SERVICES ? 1 : pool.getParallelism();
    if (slices <= 1) {
      buildSlice(stale, built, policy, 0, stale.length);
      return;
    }
    List<Callable<Void>> tasks = new ArrayList<>(slices);
    for (int k = 0; k < slices; k++) {
      int from = (int) ((long) stale.length * k / slices);
      int to = (int) ((long) stale.length * (k + 1) / slices);
      tasks.add(() -> {
        buildSlice(stale, built, policy, from, to);
        return null;
      });
    }
    for (Future<Void> done : pool.invokeAll(tasks)) { // invokeAll returns when every task has
      try {
        done.get();
      } catch (ExecutionException e) {
        if (e.getCause() instanceof RuntimeException r) {
          throw r;
        }
        throw new IllegalStateException("building a service's resources failed", e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while services were building", e);
      }
    }
  }

  private void buildSlice(ServiceResources.Inputs[] stale, ServiceResources[] built, MeshPolicy policy,
      int from, int to) {
    for (int i = from; i < to; i++) {
      if (stale[i] != null) {
        built[i] = built[i] == null ? ServiceResources.build(stale[i], policy, templates, regions)
            : ServiceResources.rebuild(stale[i], policy, templates, regions, built[i]);
      }
    }
  }

  /** How many times a service's resources were built, since this builder was made. */
  public long servicesBuilt() {
    return servicesBuilt;
  }

  /** Reassembles the collections of the {@code parts} that changed; the others are kept from {@code before}. */
  private Assembled assemble(MeshPolicy policy, Set<ServiceResources.Part> parts, Assembled before) {
    List<ServiceResources> ordered = new ArrayList<>(policy.services().size());
    for (ServicePolicy service : policy.services()) {
      ordered.add(services.get(service.name()));
    }
    SnapshotResources<Cluster> envoyClusters = before == null ? null : before.envoyClusters();
    SnapshotResources<Cluster> grpcClusters = before == null ? null : before.grpcClusters();
    if (parts.contains(ServiceResources.Part.CLUSTERS)) {
      List<Versioned<Cluster>> envoy = new ArrayList<>();
      List<Versioned<Cluster>> grpc = new ArrayList<>();
      for (ServiceResources r : ordered) {
        envoy.addAll(r.envoyClusters);
        grpc.addAll(r.grpcClusters);
      }
      envoyClusters = ResourceCollection.of(envoy, Cluster::getName);
      grpcClusters = ResourceCollection.of(grpc, Cluster::getName);
    }
    Map<String, SnapshotResources<ClusterLoadAssignment>> envoyByRegion = before == null ? null : before.envoyEndpoints();
    Map<String, SnapshotResources<ClusterLoadAssignment>> grpcByRegion = before == null ? null : before.grpcEndpoints();
    if (parts.contains(ServiceResources.Part.ENDPOINTS)) {
      envoyByRegion = new HashMap<>();
      grpcByRegion = new HashMap<>();
      for (String region : regions) {
        List<Versioned<ClusterLoadAssignment>> envoy = new ArrayList<>();
        List<Versioned<ClusterLoadAssignment>> grpc = new ArrayList<>();
        for (ServiceResources r : ordered) {
          List<Versioned<ClusterLoadAssignment>> assignments = r.endpointsByRegion.get(region);
          envoy.addAll(assignments);
          if (r.grpcListener != null) {
            grpc.addAll(assignments);
          }
        }
        SnapshotResources<ClusterLoadAssignment> all = ResourceCollection.of(envoy, ClusterLoadAssignment::getClusterName);
        envoyByRegion.put(region, all);
        // with only gRPC services both data planes hold the same assignments: one collection
        grpcByRegion.put(region, grpc.size() == envoy.size() ? all
            : ResourceCollection.of(grpc, ClusterLoadAssignment::getClusterName));
      }
    }
    SnapshotResources<Listener> envoyListeners = before == null ? null : before.envoyListeners();
    SnapshotResources<Listener> grpcListeners = before == null ? null : before.grpcListeners();
    if (parts.contains(ServiceResources.Part.LISTENERS)) {
      List<Versioned<Listener>> grpc = new ArrayList<>();
      for (ServiceResources r : ordered) {
        if (r.grpcListener != null) {
          grpc.add(r.grpcListener);
        }
      }
      envoyListeners = ResourceCollection.of(List.of(Versioned.of(ListenerResources.envoyIngress(policy))),
          Listener::getName);
      grpcListeners = ResourceCollection.of(grpc, Listener::getName);
    }
    SnapshotResources<RouteConfiguration> envoyRoutes = before == null ? null : before.envoyRoutes();
    SnapshotResources<RouteConfiguration> grpcRoutes = before == null ? null : before.grpcRoutes();
    if (parts.contains(ServiceResources.Part.ROUTES)) {
      List<Versioned<RouteConfiguration>> grpc = new ArrayList<>();
      for (ServiceResources r : ordered) {
        if (r.grpcRoute != null) {
          grpc.add(r.grpcRoute);
        }
      }
      envoyRoutes = ResourceCollection.of(List.of(Versioned.of(
          RouteResources.envoyIngress(policy.services(), s -> services.get(s.name()).envoyRoutes),
          RouteResources.envoyIngressDigest(policy.services(), s -> services.get(s.name()).routeInputs))), RouteConfiguration::getName);
      grpcRoutes = ResourceCollection.of(grpc, RouteConfiguration::getName);
    }
    return new Assembled(envoyClusters, grpcClusters, envoyByRegion, grpcByRegion,
        envoyListeners, grpcListeners, envoyRoutes, grpcRoutes);
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
    return ResourceCollection.of(secrets.stream().map(Versioned::of).toList(), Secret::getName);
  }
}
