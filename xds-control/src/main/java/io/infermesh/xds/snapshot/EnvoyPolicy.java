package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

/**
 * The Envoy ingress every regional Envoy gets: one listener that routes each service's path
 * prefix to that service's clusters.
 *
 * @param listenerAddress bind address, e.g. {@code 0.0.0.0}
 * @param listenerPort bind port, 1..65535
 * @param downstreamTls terminate TLS towards apps with the Envoy's mesh identity (from SDS)
 */
public record EnvoyPolicy(String listenerAddress, int listenerPort, boolean downstreamTls) {

  public EnvoyPolicy {
    requireNonNull(listenerAddress, "listenerAddress");
    if (listenerAddress.isBlank()) {
      throw new IllegalArgumentException("envoy.listener_address must not be blank");
    }
    if (listenerPort < 1 || listenerPort > 65_535) {
      throw new IllegalArgumentException("envoy.listener_port must be 1..65535, was " + listenerPort);
    }
  }

  /** {@code 0.0.0.0:10000} with TLS towards apps. */
  public static EnvoyPolicy defaults() {
    return new EnvoyPolicy("0.0.0.0", 10_000, true);
  }
}
