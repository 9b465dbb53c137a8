package io.infermesh.xds.snapshot;

/**
 * Names of the xDS resources the snapshot builder emits; bootstrap files and clients rely on them.
 */
public final class ResourceNames {

  /** The Envoy ingress listener and its route configuration. */
  public static final String INGRESS = "ingress";
  /** The SDS secret with the Envoy's certificate chain and key. */
  public static final String IDENTITY_SECRET = "infermesh-identity";
  /** The SDS secret with the mesh CA bundle. */
  public static final String TRUST_BUNDLE_SECRET = "infermesh-trust-bundle";

  private ResourceNames() {}

  /** The cluster with every endpoint of {@code service}, whatever its version. */
  public static String cluster(String service) {
    return service;
  }

  /** The cluster with the endpoints of {@code service} that serve {@code version}. */
  public static String cluster(String service, String version) {
    return service + "|" + version;
  }

  /** The proxyless listener (and route configuration) for {@code service}: its xDS target name. */
  public static String grpcListener(String service) {
    return service;
  }
}
