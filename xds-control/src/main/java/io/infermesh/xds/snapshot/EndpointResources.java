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
import java.util.EnumMap;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.function.ToDoubleFunction;

/**
 * Builds EDS {@link ClusterLoadAssignment}s from a {@link LocalityPlanner} plan. An instance
 * caches what does not depend on the cluster's name: each endpoint's {@link LbEndpoint}, each
 * cluster's endpoints grouped by locality, each planned locality, and each (endpoints, client
 * region) plan with its localities, so a service's clusters that hold the same endpoints (the
 * all-versions cluster and the only version's) are planned and built once per client region, and
 * an endpoint is built once however many clusters and client regions hold it. Endpoint lists are
 * keys by identity: the caller passes the same list for clusters with the same endpoints. One
 * instance serves one service's build, with one burst-share function per client region. Not
 * thread-safe.
 *
 * <p>Digests are composed from the inputs that shape each message, never taken over an encoding
 * ({@link ComposedDigest}): a plan's over each locality's region, zone, priority, weight and
 * endpoints (address, health and metadata values), in order; an assignment's over its cluster
 * name and its plan's digest, plus {@link #SHAPE}, the encoding of a
 * sample assignment, so a control plane whose code builds these messages differently hands out
 * other versions. A digest changes exactly when the message does.
 */
final class EndpointResources {

  /** Endpoint metadata namespace: id, model, version and tier of each endpoint. */
  static final String METADATA_NAMESPACE = "infermesh";

  private static final Map<Tier, Value> TIERS = new EnumMap<>(Tier.class);

  static {
    for (Tier tier : Tier.values()) {
      TIERS.put(tier, string(tier.yamlName()));
    }
  }

  /** The digest of a sample assignment as this code encodes it (see the class comment). */
  private static final byte[] SHAPE = ResourceVersions.digest(new EndpointResources().build("shape",
      List.of(MeshEndpoint.builder("shape", "10.0.0.1", 1, "shape").zone("shape").id("shape").build()),
      "shape", region -> 0.0));

  private final ComposedDigest digest = new ComposedDigest();
  private final Map<MeshEndpoint, LbEndpoint> lbEndpoints = new IdentityHashMap<>();
  private final Map<List<MeshEndpoint>, SortedMap<MeshLocality, List<MeshEndpoint>>> grouped = new IdentityHashMap<>();
  private final Map<PlanKey, Digested<List<LocalityLbEndpoints>>> plans = new HashMap<>();
  private final Map<LocalityKey, LocalityLbEndpoints> localities = new HashMap<>();
  private final Map<MeshLocality, Locality> localityMessages = new HashMap<>();
  private final Map<String, Value> values = new HashMap<>();

  private record Digested<T>(T value, byte[] digest) {}

  /** The endpoint list by identity; the burst-share function too: callers pass one per client region. */
  private record PlanKey(List<MeshEndpoint> endpoints, String clientRegion, ToDoubleFunction<String> burstShare) {
    @Override
    public boolean equals(Object o) {
      return o instanceof PlanKey k && k.endpoints == endpoints && k.clientRegion.equals(clientRegion)
          && k.burstShare == burstShare;
    }

    @Override
    public int hashCode() {
      return (System.identityHashCode(endpoints) * 31 + clientRegion.hashCode()) * 31
          + System.identityHashCode(burstShare);
    }
  }

  /** A planned locality: its endpoint list (one of {@link #grouped}'s) by identity. */
  private record LocalityKey(List<MeshEndpoint> endpoints, int priority, int weight) {
    @Override
    public boolean equals(Object o) {
      return o instanceof LocalityKey k && k.endpoints == endpoints && k.priority == priority && k.weight == weight;
    }

    @Override
    public int hashCode() {
      return (System.identityHashCode(endpoints) * 31 + priority) * 31 + weight;
    }
  }

  /** A one-off assignment (tests, tools). */
  static ClusterLoadAssignment assignment(
      String clusterName, List<MeshEndpoint> endpoints, String clientRegion, ToDoubleFunction<String> burstShare) {
    return new EndpointResources().build(clusterName, endpoints, clientRegion, burstShare);
  }

  ClusterLoadAssignment build(
      String clusterName, List<MeshEndpoint> endpoints, String clientRegion, ToDoubleFunction<String> burstShare) {
    return versioned(clusterName, endpoints, clientRegion, burstShare).resource();
  }

  /** The assignment with its composed digest (see the class comment). */
  Versioned<ClusterLoadAssignment> versioned(
      String clusterName, List<MeshEndpoint> endpoints, String clientRegion, ToDoubleFunction<String> burstShare) {
    Digested<List<LocalityLbEndpoints>> plan = plans.computeIfAbsent(
        new PlanKey(endpoints, clientRegion, burstShare), this::plan);
    ClusterLoadAssignment cla = ClusterLoadAssignment.newBuilder()
        .setClusterName(clusterName)
        .addAllEndpoints(plan.value())
        .build();
    digest.type(ClusterLoadAssignment.getDescriptor());
    if (SHAPE != null) { // null only while SHAPE itself is built
      digest.bytes(SHAPE);
    }
    return Versioned.of(cla, digest.string(clusterName).bytes(plan.digest()).digest());
  }

  private Digested<List<LocalityLbEndpoints>> plan(PlanKey key) {
    SortedMap<MeshLocality, List<MeshEndpoint>> byLocality =
        grouped.computeIfAbsent(key.endpoints(), LocalityPlanner::byLocality);
    List<LocalityPlanner.PlannedLocality> planned = LocalityPlanner.plan(byLocality, key.clientRegion(), key.burstShare());
    LocalityLbEndpoints[] built = new LocalityLbEndpoints[planned.size()];
    for (int i = 0; i < built.length; i++) {
      LocalityPlanner.PlannedLocality p = planned.get(i);
      built[i] = localities.computeIfAbsent(new LocalityKey(p.endpoints(), p.priority(), p.weight()), k -> locality(p));
    }
    // the digest covers every locality's inputs in order; one SHA-256 per plan, none per locality or endpoint
    for (LocalityPlanner.PlannedLocality p : planned) {
      digest.string(p.locality().region()).string(p.locality().zone())
          .integer(p.priority()).integer(p.weight()).integer(p.endpoints().size());
      for (MeshEndpoint e : p.endpoints()) {
        digest.string(e.host()).integer(e.port()).integer(healthStatus(e.health()).getNumber())
            .string(e.id()).string(e.model()).string(e.version()).string(TIERS.get(e.tier()).getStringValue());
      }
    }
    return new Digested<>(List.of(built), digest.digest());
  }

  private LocalityLbEndpoints locality(LocalityPlanner.PlannedLocality planned) {
    LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder()
        .setLocality(localityMessages.computeIfAbsent(planned.locality(), l -> Locality.newBuilder()
            .setRegion(l.region())
            .setZone(l.zone())
            .build()))
        .setPriority(planned.priority())
        .setLoadBalancingWeight(UInt32Value.of(planned.weight()));
    for (MeshEndpoint e : planned.endpoints()) {
      locality.addLbEndpoints(lbEndpoints.computeIfAbsent(e, this::lbEndpoint));
    }
    return locality.build();
  }

  private LbEndpoint lbEndpoint(MeshEndpoint e) {
    return LbEndpoint.newBuilder()
        .setEndpoint(Endpoint.newBuilder()
            .setAddress(Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder()
                    .setAddress(e.host())
                    .setPortValue(e.port()))))
        .setHealthStatus(healthStatus(e.health()))
        .setMetadata(Metadata.newBuilder()
            .putFilterMetadata(METADATA_NAMESPACE, Struct.newBuilder()
                .putFields("id", string(e.id()))
                .putFields("model", values.computeIfAbsent(e.model(), EndpointResources::string))
                .putFields("version", values.computeIfAbsent(e.version(), EndpointResources::string))
                .putFields("tier", TIERS.get(e.tier()))
                .build()))
        .build();
  }

  private static HealthStatus healthStatus(EndpointHealth health) {
    return switch (health) {
      case HEALTHY -> HealthStatus.HEALTHY;
      case UNHEALTHY -> HealthStatus.UNHEALTHY;
      case DRAINING -> HealthStatus.DRAINING;
    };
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }
}
