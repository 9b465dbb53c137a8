package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

/**
 * A node group: every node of one data-plane kind in one region gets the same snapshot — except
 * an Envoy gateway, whose snapshot also carries its own certificate and key over SDS, so it is a
 * group of one: {@code identity} is then the gateway's SPIFFE ID, and only a caller presenting
 * exactly that identity is served it ({@code NodeTracker}). The region is empty for nodes whose
 * region the policy does not list (they get no local preference).
 *
 * @param identity the SPIFFE ID whose secrets the snapshot carries; empty for every other group
 */
public record XdsGroup(DataPlane plane, String region, String identity) implements Comparable<XdsGroup> {

  public XdsGroup {
    requireNonNull(plane, "plane");
    requireNonNull(region, "region");
    requireNonNull(identity, "identity");
  }

  /** A group that carries no identity. */
  public XdsGroup(DataPlane plane, String region) {
    this(plane, region, "");
  }

  /** The group for nodes with no known region. */
  public static XdsGroup unlocated(DataPlane plane) {
    return new XdsGroup(plane, "");
  }

  @Override
  public int compareTo(XdsGroup o) {
    int c = plane.compareTo(o.plane);
    if (c == 0) {
      c = region.compareTo(o.region);
    }
    return c != 0 ? c : identity.compareTo(o.identity);
  }

  @Override
  public String toString() {
    return plane.metadataName() + "/" + (region.isEmpty() ? "*" : region) + (identity.isEmpty() ? "" : "/" + identity);
  }
}
