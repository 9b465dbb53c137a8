package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.node.xds.MeshXdsCredentialsProvider;
import io.infermesh.xds.config.ControlSettings;
import io.infermesh.xds.snapshot.MeshNodeGroup;

/**
 * The grpc-xds bootstrap a proxyless client (an edge agent) needs to reach this control plane
 * and be grouped by region: put it in {@code GRPC_XDS_BOOTSTRAP_CONFIG} (or the
 * {@code io.grpc.xds.bootstrapConfig} system property) before the first {@code xds:///} channel.
 * grpc-xds reads it once per JVM.
 *
 * <p>{@link #mtls} is the normal form: the xDS stream runs over mutual TLS with the node's mesh
 * files, through the node module's {@link MeshXdsCredentialsProvider} ({@code infermesh_mtls}; grpc-xds
 * 1.85.1's own {@code tls} creds ignore certificate files, gRFC A65 is not in it). The control
 * plane's mTLS port requires a client certificate from the mesh CA and authorizes ADS for mesh
 * roles only; the client accepts only a server with role {@code control}. {@link
 * #plaintextLoopback} exists for a control plane that serves plaintext on loopback (tests and demos
 * without certificates; {@link ControlSettings} refuses plaintext anywhere else). No bootstrap
 * lists a plaintext fallback after mTLS: grpc-xds would use it whenever the mesh files fail to
 * load, silently dropping the identity.
 *
 * <p>The data-plane calls use the {@code xds:} channel's own credentials. {@code
 * ignore_resource_deletion} keeps the client's configuration if a restarting control plane briefly
 * lacks a resource.
 */
public final class ProxylessBootstrap {

  private ProxylessBootstrap() {}

  /**
   * A bootstrap whose xDS stream is mutual TLS with {@code files} (role edge or core).
   *
   * @param xdsAddress {@code host:port} of the control plane's mTLS xDS port
   * @param nodeId this client's unique id (shown on the admin endpoint)
   * @param region this client's region; endpoints there are preferred
   */
  public static String mtls(String xdsAddress, String nodeId, String region, MeshCredentialFiles files) {
    requireNonNull(files, "files");
    String creds = """
        {"type": "%s", "config": {"certificate_file": "%s", "private_key_file": "%s", "ca_certificate_file": "%s"}}"""
        .formatted(MeshXdsCredentialsProvider.NAME, escape(files.certificateChain().toAbsolutePath().toString()),
            escape(files.privateKey().toAbsolutePath().toString()),
            escape(files.trustBundle().toAbsolutePath().toString()));
    return json(xdsAddress, nodeId, region, creds);
  }

  /**
   * A bootstrap whose xDS stream is plaintext, for a control plane serving plaintext on loopback.
   *
   * @throws IllegalArgumentException if {@code xdsAddress} is not a loopback address
   */
  public static String plaintextLoopback(String xdsAddress, String nodeId, String region) {
    requireNonNull(xdsAddress, "xdsAddress");
    int colon = xdsAddress.lastIndexOf(':');
    String host = colon < 0 ? xdsAddress : xdsAddress.substring(0, colon);
    if (!ControlSettings.isLoopback(host)) {
      throw new IllegalArgumentException("plaintext xDS only to a loopback control plane, not " + xdsAddress
          + "; use mtls(...) with the node's mesh files");
    }
    return json(xdsAddress, nodeId, region, "{\"type\": \"insecure\"}");
  }

  private static String json(String xdsAddress, String nodeId, String region, String channelCreds) {
    requireNonNull(xdsAddress, "xdsAddress");
    requireNonNull(nodeId, "nodeId");
    requireNonNull(region, "region");
    return """
        {
          "xds_servers": [{
            "server_uri": "%s",
            "channel_creds": [%s],
            "server_features": ["xds_v3", "ignore_resource_deletion"]
          }],
          "node": {
            "id": "%s",
            "locality": {"region": "%s"},
            "metadata": {"%s": "grpc", "%s": "%s"}
          }
        }
        """.formatted(escape(xdsAddress), channelCreds, escape(nodeId), escape(region),
        MeshNodeGroup.ROLE_KEY, MeshNodeGroup.REGION_KEY, escape(region));
  }

  private static String escape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }
}
