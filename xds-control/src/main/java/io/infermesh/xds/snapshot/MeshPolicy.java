package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What {@code mesh.yaml} asks of the data plane: the regions and their tiers, the services and
 * their version splits, the burst policy, upstream resilience settings, the Envoy ingress, and
 * whether upstream traffic is mutual TLS with SPIFFE identities (served to Envoy over SDS).
 * Immutable and validated when built; messages name the {@code mesh.yaml} key.
 */
public record MeshPolicy(
    String trustDomain,
    List<RegionPolicy> regions,
    List<ServicePolicy> services,
    BurstPolicy burst,
    UpstreamPolicy upstream,
    EnvoyPolicy envoy,
    boolean mtls) {

  public MeshPolicy {
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(regions, "regions");
    requireNonNull(services, "services");
    requireNonNull(burst, "burst");
    requireNonNull(upstream, "upstream");
    requireNonNull(envoy, "envoy");
    if (!trustDomain.matches("[a-z0-9]([a-z0-9.-]*[a-z0-9])?")) {
      throw new IllegalArgumentException("trust_domain must be a DNS name, was '" + trustDomain + "'");
    }
    regions = List.copyOf(regions);
    services = List.copyOf(services);
    Set<String> names = new HashSet<>();
    for (RegionPolicy r : regions) {
      if (!names.add(r.name())) {
        throw new IllegalArgumentException("regions lists " + r.name() + " twice");
      }
    }
    names.clear();
    for (ServicePolicy s : services) {
      if (!names.add(s.name())) {
        throw new IllegalArgumentException("services lists " + s.name() + " twice");
      }
    }
  }

  /** A policy for one gRPC service {@code core-inference}, default settings, mTLS on. */
  public static MeshPolicy defaults(String trustDomain, List<RegionPolicy> regions) {
    return new MeshPolicy(trustDomain, regions, List.of(ServicePolicy.grpc("core-inference")),
        BurstPolicy.defaults(), UpstreamPolicy.defaults(), EnvoyPolicy.defaults(), true);
  }

  /** The service named so, if listed. */
  public Optional<ServicePolicy> service(String name) {
    return services.stream().filter(s -> s.name().equals(name)).findFirst();
  }

  /** The region named so, if listed. */
  public Optional<RegionPolicy> region(String name) {
    return regions.stream().filter(r -> r.name().equals(name)).findFirst();
  }

  public MeshPolicy withService(ServicePolicy service) {
    List<ServicePolicy> copy = new ArrayList<>();
    boolean replaced = false;
    for (ServicePolicy s : services) {
      if (s.name().equals(service.name())) {
        copy.add(service);
        replaced = true;
      } else {
        copy.add(s);
      }
    }
    if (!replaced) {
      copy.add(service);
    }
    return new MeshPolicy(trustDomain, regions, copy, burst, upstream, envoy, mtls);
  }

  public MeshPolicy withBurst(BurstPolicy newBurst) {
    return new MeshPolicy(trustDomain, regions, services, newBurst, upstream, envoy, mtls);
  }

  public MeshPolicy withUpstream(UpstreamPolicy newUpstream) {
    return new MeshPolicy(trustDomain, regions, services, burst, newUpstream, envoy, mtls);
  }

  public MeshPolicy withEnvoy(EnvoyPolicy newEnvoy) {
    return new MeshPolicy(trustDomain, regions, services, burst, upstream, newEnvoy, mtls);
  }

  public MeshPolicy withMtls(boolean newMtls) {
    return new MeshPolicy(trustDomain, regions, services, burst, upstream, envoy, newMtls);
  }
}
