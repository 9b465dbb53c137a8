package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

/**
 * A region the mesh knows from {@code mesh.yaml}. Clients and Envoys in a listed region get their
 * own node group; an endpoint without a tier of its own inherits its region's tier.
 *
 * @param name DNS-label region name, e.g. {@code eu-west}
 * @param tier whether the region is our own capacity or a public cloud
 */
public record RegionPolicy(String name, Tier tier) {

  public RegionPolicy {
    requireNonNull(name, "name");
    requireNonNull(tier, "tier");
    if (!MeshEndpoint.isValidName(name)) {
      throw new IllegalArgumentException("region name must be a DNS label, was '" + name + "'");
    }
  }
}
