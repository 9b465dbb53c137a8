package io.infermesh.xds.snapshot;

import java.util.ArrayList;
import java.util.List;

/** A small two-private-regions-plus-public-burst mesh used across snapshot tests. */
final class MeshFixtures {

  static final String SERVICE = "core-inference";
  static final String EU = "eu-west";
  static final String US = "us-east";
  static final String BURST = "aws-burst";

  private MeshFixtures() {}

  static MeshPolicy policy() {
    return MeshPolicy.defaults("mesh.local", List.of(
        new RegionPolicy(EU, Tier.PRIVATE),
        new RegionPolicy(US, Tier.PRIVATE),
        new RegionPolicy(BURST, Tier.PUBLIC)));
  }

  static MeshEndpoint endpoint(String region, String zone, Tier tier, int lastOctet) {
    return MeshEndpoint.builder(SERVICE, "10.0." + region.length() + "." + lastOctet, 9443, region)
        .id(region + "-" + zone + "-" + lastOctet)
        .zone(zone)
        .tier(tier)
        .build();
  }

  /** eu-west a (2) + b (1), us-east a (2), aws-burst a (2). */
  static List<MeshEndpoint> endpoints() {
    List<MeshEndpoint> list = new ArrayList<>();
    list.add(endpoint(EU, "a", Tier.PRIVATE, 1));
    list.add(endpoint(EU, "a", Tier.PRIVATE, 2));
    list.add(endpoint(EU, "b", Tier.PRIVATE, 3));
    list.add(endpoint(US, "a", Tier.PRIVATE, 4));
    list.add(endpoint(US, "a", Tier.PRIVATE, 5));
    list.add(endpoint(BURST, "a", Tier.PUBLIC, 6));
    list.add(endpoint(BURST, "a", Tier.PUBLIC, 7));
    return list;
  }

  static MeshState state() {
    return MeshState.of(endpoints());
  }
}
