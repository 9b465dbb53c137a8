package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** One snapshot per node group, as built from one mesh state. Immutable. */
public record MeshSnapshots(Map<XdsGroup, Snapshot> snapshots) {

  public MeshSnapshots {
    requireNonNull(snapshots, "snapshots");
    snapshots = Collections.unmodifiableMap(new TreeMap<>(snapshots));
  }

  /** The snapshot of one group, if the policy has that group. */
  public Optional<Snapshot> snapshot(XdsGroup group) {
    return Optional.ofNullable(snapshots.get(group));
  }

  /** The snapshot of one group. @throws IllegalArgumentException if there is none */
  public Snapshot get(DataPlane plane, String region) {
    Snapshot s = snapshots.get(new XdsGroup(plane, region));
    if (s == null) {
      throw new IllegalArgumentException("no snapshot for group " + new XdsGroup(plane, region)
          + "; groups are " + snapshots.keySet());
    }
    return s;
  }
}
