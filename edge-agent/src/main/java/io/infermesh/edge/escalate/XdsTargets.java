package io.infermesh.edge.escalate;

import io.grpc.NameResolverRegistry;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * {@code xds:///<service>} escalation targets: grpc-xds (proxyless gRPC) resolves them from the
 * control plane named in its bootstrap. grpc-xds reads that bootstrap once per JVM, from the first
 * of {@code GRPC_XDS_BOOTSTRAP} (a file), {@code io.grpc.xds.bootstrap} (a file, system property),
 * {@code GRPC_XDS_BOOTSTRAP_CONFIG} (the JSON) or {@code io.grpc.xds.bootstrapConfig} (the JSON,
 * system property) that is set, when the first {@code xds:} channel starts. The xDS stream itself
 * is mutual TLS with this edge's mesh files (channel creds {@code infermesh_mtls}, provided by
 * the node module on the class path, {@code io.infermesh.node.xds.MeshXdsCredentialsProvider}), or
 * plaintext to a loopback control plane without certificates; the calls to the cores it picks use
 * the channel's own credentials, mesh mTLS. Stateless.
 */
final class XdsTargets {
  static final String SCHEME = "xds";
  /** Where grpc-xds looks for its bootstrap, in its order: environment variable or system property. */
  static final List<String> BOOTSTRAP_ENV = List.of("GRPC_XDS_BOOTSTRAP", "GRPC_XDS_BOOTSTRAP_CONFIG");
  static final List<String> BOOTSTRAP_PROPERTIES = List.of("io.grpc.xds.bootstrap", "io.grpc.xds.bootstrapConfig");

  private XdsTargets() {}

  /** Whether {@code target} is an {@code xds:} target. */
  static boolean isXds(String target) {
    return target.regionMatches(true, 0, SCHEME + ":", 0, SCHEME.length() + 1);
  }

  /** The environment variable or system property that holds the bootstrap, if any. */
  static Optional<String> bootstrapSource(Map<String, String> env, Properties properties) {
    for (String name : BOOTSTRAP_ENV) {
      String v = env.get(name);
      if (v != null && !v.isBlank()) {
        return Optional.of(name);
      }
    }
    for (String name : BOOTSTRAP_PROPERTIES) {
      String v = properties.getProperty(name);
      if (v != null && !v.isBlank()) {
        return Optional.of(name);
      }
    }
    return Optional.empty();
  }

  /**
   * Fails fast on an {@code xds:} target this process cannot resolve: grpc-xds missing from the
   * class path, or no bootstrap given (calls would otherwise fail one by one with UNAVAILABLE).
   *
   * @return where the bootstrap comes from
   * @throws IllegalArgumentException naming {@code escalation.target} and what is missing
   */
  static String requireResolvable(String target, Map<String, String> env, Properties properties) {
    if (NameResolverRegistry.getDefaultRegistry().getProviderForScheme(SCHEME) == null) {
      throw new IllegalArgumentException("escalation.target: '" + target
          + "' needs grpc-xds (io.grpc:grpc-xds) on the class path");
    }
    return bootstrapSource(env, properties).orElseThrow(() -> new IllegalArgumentException("escalation.target: '"
        + target + "' needs a grpc-xds bootstrap naming the control plane: set " + String.join(" or ", BOOTSTRAP_ENV)
        + " (or the system property " + String.join(" or ", BOOTSTRAP_PROPERTIES) + ") before the edge starts"));
  }
}
