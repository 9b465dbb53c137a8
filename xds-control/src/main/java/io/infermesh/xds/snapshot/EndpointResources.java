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
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Builds EDS {@link ClusterLoadAssignment}s from a {@link LocalityPlanner} plan. An instance
 * caches what does not depend on the cluster's name: each endpoint's {@link LbEndpoint}, each
 * planned locality, and each (endpoints, client region) plan with its localities, so a service's
 * clusters that hold the same endpoints (the all-versions cluster and the only version's) are
 * planned and built once per client region. One instance serves one service's build, with one
 * burst-share function per client region. Not thread-safe.
 *
 * <p>An assignment's digest is composed rather than taken over its encoding: a SHA-256 over its
 * type and cluster name and the digest of its localities in order; a locality's digest is a
 * SHA-256 over the deterministic encoding of the locality without its endpoints (length-prefixed)
 * and the digest of each endpoint ({@link ResourceVersions#digest}). It changes exactly when the
 * assignment does, and an endpoint or locality shared by several clusters and client regions is
 * encoded once, not once per assignment.
 */
final class EndpointResources {

  /** Endpoint metadata namespace: id, model, version and tier of each endpoint. */
  static final String METADATA_NAMESPACE = "infermesh";

  private final Map<MeshEndpoint, Digested<LbEndpoint>> lbEndpoints = new IdentityHashMap<>();
  private final Map<PlanKey, Digested<List<LocalityLbEndpoints>>> plans = new HashMap<>();
  private final Map<LocalityPlanner.PlannedLocality, Digested<LocalityLbEndpoints>> localities = new HashMap<>();

  private record Digested<T>(T value, byte[] digest) {}

  /** The burst-share function is compared by identity: callers pass one per client region. */
  private record PlanKey(List<MeshEndpoint> endpoints, String clientRegion, ToDoubleFunction<String> burstShare) {}

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
    MessageDigest digest = ResourceVersions.sha256();
    digest.update(ClusterLoadAssignment.getDescriptor().getFullName().getBytes(StandardCharsets.UTF_8));
    digest.update((byte) 0);
    digest.update(clusterName.getBytes(StandardCharsets.UTF_8));
    digest.update((byte) 0);
    digest.update(plan.digest());
    ClusterLoadAssignment cla = ClusterLoadAssignment.newBuilder()
        .setClusterName(clusterName)
        .addAllEndpoints(plan.value())
        .build();
    return Versioned.of(cla, digest.digest());
  }

  private Digested<List<LocalityLbEndpoints>> plan(PlanKey key) {
    MessageDigest digest = ResourceVersions.sha256();
    List<LocalityLbEndpoints> built = new ArrayList<>();
    for (LocalityPlanner.PlannedLocality planned
        : LocalityPlanner.plan(key.endpoints(), key.clientRegion(), key.burstShare())) {
      Digested<LocalityLbEndpoints> locality = localities.computeIfAbsent(planned, this::locality);
      built.add(locality.value());
      digest.update(locality.digest());
    }
    return new Digested<>(List.copyOf(built), digest.digest());
  }

  private Digested<LocalityLbEndpoints> locality(LocalityPlanner.PlannedLocality planned) {
    LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder()
        .setLocality(Locality.newBuilder()
            .setRegion(planned.locality().region())
            .setZone(planned.locality().zone()))
        .setPriority(planned.priority())
        .setLoadBalancingWeight(UInt32Value.of(planned.weight()));
    byte[] header = locality.build().toByteArray(); // before its endpoints; no maps, so deterministic
    MessageDigest digest = ResourceVersions.sha256();
    digest.update(ByteBuffer.allocate(8).putInt(header.length).putInt(planned.endpoints().size()).array());
    digest.update(header);
    for (MeshEndpoint e : planned.endpoints()) {
      Digested<LbEndpoint> lb = lbEndpoints.computeIfAbsent(e, EndpointResources::digested);
      locality.addLbEndpoints(lb.value());
      digest.update(lb.digest());
    }
    return new Digested<>(locality.build(), digest.digest());
  }

  private static Digested<LbEndpoint> digested(MeshEndpoint e) {
    LbEndpoint lb = lbEndpoint(e);
    return new Digested<>(lb, ResourceVersions.digest(lb));
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
