package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Puts a connecting node in its {@link XdsGroup}, from its bootstrap's node metadata:
 *
 * <ul>
 *   <li>{@value #ROLE_KEY}: {@code envoy} or {@code grpc}; when absent, a user agent starting
 *       with "gRPC" means grpc, anything else envoy;
 *   <li>{@value #REGION_KEY}: the region; when absent, {@code node.locality.region}. A region the
 *       policy does not list maps to the unlocated group;
 *   <li>for an Envoy, when gateways get their identities over SDS ({@link #withGatewayIdentities}),
 *       its gateway identity {@code spiffe://<trust_domain>/<region>/gateway/<node.id>}: an
 *       Envoy's {@code node.id} is the name of its gateway certificate ({@code infermesh certs
 *       issue --role gateway --name <node.id>}). A node whose id or region is not a valid SPIFFE
 *       label gets no identity (and {@code NodeTracker} refuses it).
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class MeshNodeGroup implements NodeGroup<XdsGroup> {

  /** Node metadata key for the data-plane kind. */
  public static final String ROLE_KEY = "infermesh.role";
  /** Node metadata key for the region. */
  public static final String REGION_KEY = "infermesh.region";

  private final Set<String> knownRegions;
  private final String trustDomain; // null: Envoys get no identity groups

  private MeshNodeGroup(Set<String> knownRegions, String trustDomain) {
    this.knownRegions = Set.copyOf(knownRegions);
    this.trustDomain = trustDomain;
  }

  /** Groups nodes by the regions of this policy; no identity groups. */
  public static MeshNodeGroup of(MeshPolicy policy) {
    requireNonNull(policy, "policy");
    return new MeshNodeGroup(
        policy.regions().stream().map(RegionPolicy::name).collect(Collectors.toSet()), null);
  }

  /** The same, with each Envoy in its own gateway's group (mTLS xDS with SDS identities). */
  public MeshNodeGroup withGatewayIdentities(MeshPolicy policy) {
    return new MeshNodeGroup(knownRegions, requireNonNull(policy, "policy").trustDomain());
  }

  @Override
  public XdsGroup hash(Node node) {
    DataPlane plane = plane(node);
    String region = metadata(node, REGION_KEY);
    if (region.isEmpty()) {
      region = node.getLocality().getRegion();
    }
    String identity = plane == DataPlane.ENVOY && trustDomain != null ? gatewayIdentity(region, node.getId()) : "";
    return new XdsGroup(plane, knownRegions.contains(region) ? region : "", identity);
  }

  /** {@code spiffe://<td>/<region>/gateway/<name>}, or "" when region or name is not a SPIFFE label. */
  private String gatewayIdentity(String region, String name) {
    try {
      return new SpiffeId(trustDomain, region, Role.GATEWAY, name).toString();
    } catch (IllegalArgumentException e) {
      return "";
    }
  }

  private static DataPlane plane(Node node) {
    String role = metadata(node, ROLE_KEY);
    if (!role.isEmpty()) {
      try {
        return DataPlane.parse(role);
      } catch (IllegalArgumentException e) {
        // fall through to the user agent: a typo in metadata must not strand the node
      }
    }
    return node.getUserAgentName().toLowerCase(Locale.ROOT).startsWith("grpc")
        ? DataPlane.GRPC
        : DataPlane.ENVOY;
  }

  private static String metadata(Node node, String key) {
    Value value = node.getMetadata().getFieldsMap().get(key);
    return value == null || value.getKindCase() != Value.KindCase.STRING_VALUE
        ? ""
        : value.getStringValue().trim();
  }
}
