package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Everything discovery knows about the mesh at one moment: every endpoint of every service, with
 * its locality, tier, model version, health and reported utilization. Immutable; endpoints are
 * kept sorted by service then id so equal states compare equal whatever order discovery used.
 */
public record MeshState(List<MeshEndpoint> endpoints) {

  private static final Comparator<MeshEndpoint> ORDER =
      Comparator.comparing(MeshEndpoint::service).thenComparing(MeshEndpoint::id);
  private static final MeshState EMPTY = new MeshState(List.of());

  /**
   * @throws IllegalArgumentException when two endpoints of one service share an id
   */
  public MeshState {
    requireNonNull(endpoints, "endpoints");
    List<MeshEndpoint> sorted = new ArrayList<>(endpoints);
    sorted.sort(ORDER);
    Set<String> seen = new HashSet<>();
    for (MeshEndpoint e : sorted) {
      if (!seen.add(e.service() + "\u0000" + e.id())) {
        throw new IllegalArgumentException(
            "duplicate endpoint id '" + e.id() + "' in service " + e.service());
      }
    }
    endpoints = List.copyOf(sorted);
  }

  /** A state with no endpoints. */
  public static MeshState empty() {
    return EMPTY;
  }

  /** A state with these endpoints. */
  public static MeshState of(List<MeshEndpoint> endpoints) {
    return new MeshState(endpoints);
  }

  /** The endpoints of one service, healthy or not, sorted by id. */
  public List<MeshEndpoint> endpoints(String service) {
    return endpoints.stream().filter(e -> e.service().equals(service)).toList();
  }

  /** Every model version seen for a service, sorted. */
  public SortedSet<String> versions(String service) {
    SortedSet<String> versions = new TreeSet<>();
    for (MeshEndpoint e : endpoints) {
      if (e.service().equals(service)) {
        versions.add(e.version());
      }
    }
    return versions;
  }

  /** Every region that has an endpoint, sorted. */
  public SortedSet<String> regions() {
    SortedSet<String> regions = new TreeSet<>();
    endpoints.forEach(e -> regions.add(e.region()));
    return regions;
  }

  /**
   * Mean utilization of the healthy private endpoints of {@code service} in {@code region}; empty
   * when there are none. This is what the burst policy watches.
   */
  public OptionalDouble privateUtilization(String service, String region) {
    return endpoints.stream()
        .filter(e -> e.service().equals(service)
            && e.region().equals(region)
            && e.tier() == Tier.PRIVATE
            && e.health().serving())
        .mapToDouble(MeshEndpoint::utilization)
        .average();
  }

  /** A copy with one endpoint replaced (matched by service and id) or added. */
  public MeshState with(MeshEndpoint endpoint) {
    List<MeshEndpoint> copy = new ArrayList<>(endpoints.size() + 1);
    for (MeshEndpoint e : endpoints) {
      if (!(e.service().equals(endpoint.service()) && e.id().equals(endpoint.id()))) {
        copy.add(e);
      }
    }
    copy.add(endpoint);
    return new MeshState(copy);
  }
}
