package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The share of each (service, private region)'s traffic currently sent to public endpoints;
 * absent means zero. Immutable.
 */
public record BurstShares(Map<ServiceRegion, Double> shares) {

  private static final BurstShares NONE = new BurstShares(Map.of());

  public BurstShares {
    requireNonNull(shares, "shares");
    TreeMap<ServiceRegion, Double> copy = new TreeMap<>();
    shares.forEach((k, v) -> {
      if (!(v >= 0 && v < 1)) {
        throw new IllegalArgumentException("share of " + k + " must be in [0, 1), was " + v);
      }
      if (v > 0) {
        copy.put(k, v);
      }
    });
    shares = Collections.unmodifiableMap(copy);
  }

  /** No burst anywhere. */
  public static BurstShares none() {
    return NONE;
  }

  /** One share; for tests and tools. */
  public static BurstShares of(String service, String region, double share) {
    return new BurstShares(Map.of(new ServiceRegion(service, region), share));
  }

  /** The share of {@code service} in {@code region}, 0 when not bursting. */
  public double share(String service, String region) {
    return shares.getOrDefault(new ServiceRegion(service, region), 0.0);
  }
}
