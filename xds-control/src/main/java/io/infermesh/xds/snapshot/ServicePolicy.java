package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * How one mesh service is exposed and split.
 *
 * <p>Every service gets a cluster with all its endpoints ({@code name}) and one per model version
 * ({@code name|version}). Unpinned requests follow {@code versions} weights (a canary); a request
 * carrying {@code pin_header: <version>} always goes to that version; {@code shadow} mirrors a
 * share to a version whose answers are dropped. With no {@code versions}, unpinned requests go to
 * the all-versions cluster.
 *
 * @param name DNS-label service name; also the proxyless target ({@code xds:///name})
 * @param protocol gRPC or plain HTTP
 * @param pathPrefix the Envoy ingress route prefix, e.g. {@code /infermesh.v1.Inference/}
 * @param serverRole SPIFFE role the upstream servers must present, e.g. {@code core}
 * @param versions canary weights; empty = no split
 * @param shadow optional mirroring
 * @param pinHeader request header that pins a version
 * @param requestTimeout Envoy route timeout; zero disables it (long generations)
 */
public record ServicePolicy(
    String name,
    Protocol protocol,
    String pathPrefix,
    String serverRole,
    List<VersionWeight> versions,
    Optional<ShadowPolicy> shadow,
    String pinHeader,
    Duration requestTimeout) {

  /** The header that pins a model version unless a service names another. */
  public static final String DEFAULT_PIN_HEADER = "x-infermesh-model-version";

  public ServicePolicy {
    requireNonNull(name, "name");
    requireNonNull(protocol, "protocol");
    requireNonNull(pathPrefix, "pathPrefix");
    requireNonNull(serverRole, "serverRole");
    requireNonNull(versions, "versions");
    requireNonNull(shadow, "shadow");
    requireNonNull(pinHeader, "pinHeader");
    requireNonNull(requestTimeout, "requestTimeout");
    if (!MeshEndpoint.isValidName(name)) {
      throw new IllegalArgumentException("service name must be a DNS label, was '" + name + "'");
    }
    if (!pathPrefix.startsWith("/")) {
      throw new IllegalArgumentException(
          "path_prefix of service " + name + " must start with '/', was '" + pathPrefix + "'");
    }
    if (!MeshEndpoint.isValidName(serverRole)) {
      throw new IllegalArgumentException("server_role of service " + name + " is not valid: " + serverRole);
    }
    if (!pinHeader.matches("[a-z0-9][a-z0-9-]*")) {
      throw new IllegalArgumentException(
          "pin_header of service " + name + " must be a lower-case header name, was '" + pinHeader + "'");
    }
    if (requestTimeout.isNegative()) {
      throw new IllegalArgumentException("request_timeout of service " + name + " must not be negative");
    }
    versions = List.copyOf(versions);
    Set<String> seen = new HashSet<>();
    for (VersionWeight v : versions) {
      if (!seen.add(v.version())) {
        throw new IllegalArgumentException("service " + name + " lists version " + v.version() + " twice");
      }
    }
    if (!versions.isEmpty() && versions.stream().mapToInt(VersionWeight::weight).sum() == 0) {
      throw new IllegalArgumentException("versions of service " + name + " must not all weigh 0");
    }
  }

  /** A gRPC service on {@code /infermesh.v1.Inference/} served by role {@code core}, no split. */
  public static ServicePolicy grpc(String name) {
    return new ServicePolicy(name, Protocol.GRPC, "/", "core", List.of(), Optional.empty(),
        DEFAULT_PIN_HEADER, Duration.ZERO);
  }

  public ServicePolicy withVersions(List<VersionWeight> newVersions) {
    return new ServicePolicy(name, protocol, pathPrefix, serverRole, newVersions, shadow, pinHeader, requestTimeout);
  }

  public ServicePolicy withShadow(ShadowPolicy newShadow) {
    return new ServicePolicy(name, protocol, pathPrefix, serverRole, versions, Optional.of(newShadow),
        pinHeader, requestTimeout);
  }

  public ServicePolicy withPathPrefix(String newPathPrefix) {
    return new ServicePolicy(name, protocol, newPathPrefix, serverRole, versions, shadow,
        pinHeader, requestTimeout);
  }

  public ServicePolicy withProtocol(Protocol newProtocol) {
    return new ServicePolicy(name, newProtocol, pathPrefix, serverRole, versions, shadow, pinHeader,
        requestTimeout);
  }

  public ServicePolicy withServerRole(String newRole) {
    return new ServicePolicy(name, protocol, pathPrefix, newRole, versions, shadow, pinHeader, requestTimeout);
  }

  public ServicePolicy withRequestTimeout(Duration newTimeout) {
    return new ServicePolicy(name, protocol, pathPrefix, serverRole, versions, shadow, pinHeader, newTimeout);
  }
}
