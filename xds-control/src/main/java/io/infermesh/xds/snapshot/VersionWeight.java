package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

/**
 * One model version's share of a service's unpinned traffic.
 *
 * @param version model version, as endpoints report it
 * @param weight relative weight, 0..10000 (0 = only reachable through the pin header)
 */
public record VersionWeight(String version, int weight) {

  public VersionWeight {
    requireNonNull(version, "version");
    if (!MeshEndpoint.isValidVersion(version)) {
      throw new IllegalArgumentException("version name is not valid: '" + version + "'");
    }
    if (weight < 0 || weight > 10_000) {
      throw new IllegalArgumentException(
          "weight of version " + version + " must be 0..10000, was " + weight);
    }
  }
}
