package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

/**
 * Where endpoints run: a region and a zone inside it (empty when unknown). Maps one to one onto
 * Envoy's {@code Locality}; the sub-zone is not used.
 */
public record MeshLocality(String region, String zone) implements Comparable<MeshLocality> {

  public MeshLocality {
    requireNonNull(region, "region");
    requireNonNull(zone, "zone");
  }

  @Override
  public int compareTo(MeshLocality o) {
    int c = region.compareTo(o.region);
    return c != 0 ? c : zone.compareTo(o.zone);
  }

  @Override
  public String toString() {
    return zone.isEmpty() ? region : region + "/" + zone;
  }
}
