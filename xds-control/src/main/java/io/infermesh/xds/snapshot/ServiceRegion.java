package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

/** A (service, region) pair: the unit the burst policy decides for. */
public record ServiceRegion(String service, String region) implements Comparable<ServiceRegion> {

  public ServiceRegion {
    requireNonNull(service, "service");
    requireNonNull(region, "region");
  }

  @Override
  public int compareTo(ServiceRegion o) {
    int c = service.compareTo(o.service);
    return c != 0 ? c : region.compareTo(o.region);
  }

  @Override
  public String toString() {
    return service + "@" + region;
  }
}
