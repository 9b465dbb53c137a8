package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

/**
 * A node group: every node of one data-plane kind in one region gets the same snapshot. The region
 * is empty for nodes whose region the policy does not list (they get no local preference).
 */
public record XdsGroup(DataPlane plane, String region) implements Comparable<XdsGroup> {

  public XdsGroup {
    requireNonNull(plane, "plane");
    requireNonNull(region, "region");
  }

  /** The group for nodes with no known region. */
  public static XdsGroup unlocated(DataPlane plane) {
    return new XdsGroup(plane, "");
  }

  @Override
  public int compareTo(XdsGroup o) {
    int c = plane.compareTo(o.plane);
    return c != 0 ? c : region.compareTo(o.region);
  }

  @Override
  public String toString() {
    return plane.metadataName() + "/" + (region.isEmpty() ? "*" : region);
  }
}
