package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Keeps one {@link BurstState} per (service, private region) and advances them all from a
 * {@link MeshState} at a given time. Not thread-safe: confine it to the thread that publishes
 * snapshots.
 */
public final class BurstTracker {

  private final Map<ServiceRegion, BurstState> states = new HashMap<>();

  /**
   * Advances every state with the utilization in {@code state} at {@code now} and returns the
   * shares now in force.
   */
  public BurstShares update(MeshState state, MeshPolicy policy, Instant now) {
    requireNonNull(state, "state");
    requireNonNull(policy, "policy");
    requireNonNull(now, "now");
    Set<String> privateRegions = new TreeSet<>();
    policy.regions().stream().filter(r -> r.tier() == Tier.PRIVATE).forEach(r -> privateRegions.add(r.name()));
    state.endpoints().stream().filter(e -> e.tier() == Tier.PRIVATE).forEach(e -> privateRegions.add(e.region()));
    Map<ServiceRegion, Double> shares = new HashMap<>();
    Map<ServiceRegion, BurstState> next = new HashMap<>();
    for (ServicePolicy service : policy.services()) {
      for (String region : privateRegions) {
        ServiceRegion key = new ServiceRegion(service.name(), region);
        BurstState updated = states.getOrDefault(key, BurstState.idle())
            .next(policy.burst(), now, state.privateUtilization(service.name(), region));
        next.put(key, updated);
        shares.put(key, updated.share());
      }
    }
    states.clear();
    states.putAll(next);
    return new BurstShares(shares);
  }

  /** The state of one (service, region), idle if never seen. */
  public BurstState state(String service, String region) {
    return states.getOrDefault(new ServiceRegion(service, region), BurstState.idle());
  }
}
