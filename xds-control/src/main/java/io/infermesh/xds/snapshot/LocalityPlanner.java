package io.infermesh.xds.snapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * Decides, for one cluster as seen from one client region, which localities go in which priority
 * and with what weight. The rules:
 *
 * <ol>
 *   <li>Localities with no healthy endpoint are left out.
 *   <li>Rank: the client's own region 0, other private regions 1, public regions 2; empty ranks
 *       collapse, so priorities are always 0..n-1 (Envoy and gRPC both need that).
 *   <li>Weights are healthy-endpoint counts, so each endpoint carries the same load.
 *   <li>Burst: when the first priority is private and its regions are bursting, every public
 *       locality joins priority 0 carrying exactly the burst share of the weight
 *       ({@value #BURST_SCALE} split between private and public by share, then by healthy count).
 * </ol>
 *
 * <p>Pure and stateless.
 */
final class LocalityPlanner {

  /** Total weight of a bursting priority 0; shares are whole percent, so this is exact. */
  static final int BURST_SCALE = 10_000;

  private LocalityPlanner() {}

  /** A locality, its endpoints (healthy or not) and its place in the plan. */
  record PlannedLocality(MeshLocality locality, Tier tier, List<MeshEndpoint> endpoints, int priority, int weight) {}

  /**
   * @param endpoints the cluster's endpoints, any health
   * @param clientRegion the region of the nodes that will use the plan, empty for none
   * @param burstShare the burst share of a private region
   */
  static List<PlannedLocality> plan(
      List<MeshEndpoint> endpoints, String clientRegion, ToDoubleFunction<String> burstShare) {
    return plan(byLocality(endpoints), clientRegion, burstShare);
  }

  private static SortedMap<MeshLocality, List<MeshEndpoint>> byLocality(List<MeshEndpoint> endpoints) {
    SortedMap<MeshLocality, List<MeshEndpoint>> byLocality = new TreeMap<>();
    for (MeshEndpoint e : endpoints) {
      byLocality.computeIfAbsent(e.locality(), k -> new ArrayList<>()).add(e);
    }
    return byLocality;
  }

  private static List<PlannedLocality> plan(SortedMap<MeshLocality, List<MeshEndpoint>> byLocality, String clientRegion,
      ToDoubleFunction<String> burstShare) {
    TreeMap<Integer, List<Group>> ranks = new TreeMap<>();
    for (Map.Entry<MeshLocality, List<MeshEndpoint>> entry : byLocality.entrySet()) {
      List<MeshEndpoint> list = entry.getValue();
      int healthy = 0;
      Tier tier = Tier.PUBLIC;
      for (MeshEndpoint e : list) { // a plain loop: this runs per cluster and client region
        healthy += e.health().serving() ? 1 : 0;
        tier = e.tier() == Tier.PRIVATE ? Tier.PRIVATE : tier;
      }
      if (healthy == 0) {
        continue;
      }
      Group g = new Group(entry.getKey(), tier, list, healthy);
      int rank = entry.getKey().region().equals(clientRegion) ? 0 : tier == Tier.PRIVATE ? 1 : 2;
      ranks.computeIfAbsent(rank, k -> new ArrayList<>()).add(g);
    }
    List<List<Group>> levels = new ArrayList<>(ranks.values());
    if (levels.isEmpty()) {
      return List.of();
    }
    List<Group> firstPrivate = ofTier(levels.get(0), Tier.PRIVATE);
    double share = weightedShare(firstPrivate, burstShare);
    List<Group> publicGroups = new ArrayList<>();
    if (share > 0 && !firstPrivate.isEmpty()) { // plain loops: this runs per cluster and client region
      for (List<Group> level : levels) {
        publicGroups.addAll(ofTier(level, Tier.PUBLIC));
      }
    }

    List<PlannedLocality> planned = new ArrayList<>(byLocality.size());
    if (share > 0 && !firstPrivate.isEmpty() && !publicGroups.isEmpty()) {
      int privateWeight = (int) Math.round(BURST_SCALE * (1 - share));
      addWeighted(planned, firstPrivate, 0, privateWeight);
      addWeighted(planned, publicGroups, 0, BURST_SCALE - privateWeight);
      int priority = 1;
      for (int i = 1; i < levels.size(); i++) {
        List<Group> rest = ofTier(levels.get(i), Tier.PRIVATE);
        if (!rest.isEmpty()) {
          addCounted(planned, rest, priority++);
        }
      }
    } else {
      for (int i = 0; i < levels.size(); i++) {
        addCounted(planned, levels.get(i), i);
      }
    }
    return planned;
  }

  private static List<Group> ofTier(List<Group> groups, Tier tier) {
    List<Group> of = new ArrayList<>(groups.size());
    for (Group g : groups) {
      if (g.tier == tier) {
        of.add(g);
      }
    }
    return of;
  }

  private static double weightedShare(List<Group> groups, ToDoubleFunction<String> burstShare) {
    int total = 0;
    double sum = 0;
    for (Group g : groups) {
      total += g.healthy;
      sum += g.healthy * burstShare.applyAsDouble(g.locality.region());
    }
    return total == 0 ? 0 : sum / total;
  }

  private static void addCounted(List<PlannedLocality> out, List<Group> groups, int priority) {
    for (Group g : groups) {
      out.add(new PlannedLocality(g.locality, g.tier, g.endpoints, priority, g.healthy));
    }
  }

  /** Splits {@code total} over the groups by healthy count (largest remainder), at least 1 each. */
  private static void addWeighted(List<PlannedLocality> out, List<Group> groups, int priority, int total) {
    int healthy = groups.stream().mapToInt(g -> g.healthy).sum();
    int[] weights = new int[groups.size()];
    double[] remainders = new double[groups.size()];
    int assigned = 0;
    for (int i = 0; i < groups.size(); i++) {
      double exact = (double) total * groups.get(i).healthy / healthy;
      weights[i] = (int) Math.floor(exact);
      remainders[i] = exact - weights[i];
      assigned += weights[i];
    }
    for (int left = total - assigned; left > 0; left--) {
      int best = 0;
      for (int i = 1; i < remainders.length; i++) {
        if (remainders[i] > remainders[best]) {
          best = i;
        }
      }
      weights[best]++;
      remainders[best] = -1;
    }
    for (int i = 0; i < groups.size(); i++) {
      Group g = groups.get(i);
      out.add(new PlannedLocality(g.locality, g.tier, g.endpoints, priority, Math.max(1, weights[i])));
    }
  }

  private record Group(MeshLocality locality, Tier tier, List<MeshEndpoint> endpoints, int healthy) {}
}
