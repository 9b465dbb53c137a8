package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.xds.snapshot.MeshNodeGroup;

/**
 * The grpc-xds bootstrap a proxyless client (an edge agent) needs to reach this control plane
 * and be grouped by region: put it in {@code GRPC_XDS_BOOTSTRAP_CONFIG} (or the
 * {@code io.grpc.xds.bootstrapConfig} system property) before the first {@code xds:///} channel.
 * grpc-xds reads it once per JVM.
 *
 * <p>The xDS channel is plaintext ({@code insecure}): grpc-xds 1.85.1 has no way to reach the
 * control plane's mTLS port with mesh certificate files. Checked against the 1.85.1 jar:
 *
 * <ul>
 *   <li>{@code GrpcBootstrapperImpl} does pass each {@code channel_creds} entry's {@code config}
 *       map to {@code XdsCredentialsProvider.newChannelCredentials(Map)}, but
 *   <li>{@code io.grpc.xds.internal.TlsXdsCredentialsProvider.newChannelCredentials(Map)} (type
 *       {@code tls}) ignores that map and returns {@code TlsChannelCredentials.create()}: system
 *       roots, no key manager. gRFC A65's {@code ca_certificate_file}, {@code certificate_file},
 *       {@code private_key_file} and {@code refresh_interval} are not read, so the client presents
 *       no mesh certificate and does not trust the mesh CA (A65 for Java is grpc/grpc-java pull
 *       requests 12255 and 12350, not in 1.85.1);
 *   <li>the other providers registered in 1.85.1 are {@code insecure} and {@code google_default};
 *       {@code XdsCredentialsProvider} itself is {@code @Internal}.
 * </ul>
 *
 * <p>{@code ProxylessMtlsXdsClientTest} pins this: the control plane's mTLS port serves a plain
 * gRPC TLS channel built from an edge node's mesh files, while a grpc-xds client given the same
 * files in A65's {@code tls} config gets no configuration. So serve proxyless clients plaintext on
 * loopback or a trusted network only; once grpc-java implements A65, emit {@code tls} with the
 * node's mesh files here (and issue the control plane's certificate for the host in
 * {@code server_uri}). The data-plane calls use the channel's own credentials.
 * {@code ignore_resource_deletion} keeps the client's configuration if a restarting control
 * plane briefly lacks a resource.
 */
public final class ProxylessBootstrap {

  private ProxylessBootstrap() {}

  /**
   * @param xdsAddress {@code host:port} of the control plane
   * @param nodeId this client's unique id (shown on the admin endpoint)
   * @param region this client's region; endpoints there are preferred
   * @param channelCredsType {@code insecure}, or another registered channel-creds type (see above
   *     for why {@code tls} cannot carry mesh files yet)
   */
  public static String json(String xdsAddress, String nodeId, String region, String channelCredsType) {
    requireNonNull(xdsAddress, "xdsAddress");
    requireNonNull(nodeId, "nodeId");
    requireNonNull(region, "region");
    requireNonNull(channelCredsType, "channelCredsType");
    return """
        {
          "xds_servers": [{
            "server_uri": "%s",
            "channel_creds": [{"type": "%s"}],
            "server_features": ["xds_v3", "ignore_resource_deletion"]
          }],
          "node": {
            "id": "%s",
            "locality": {"region": "%s"},
            "metadata": {"%s": "grpc", "%s": "%s"}
          }
        }
        """.formatted(escape(xdsAddress), escape(channelCredsType), escape(nodeId), escape(region),
        MeshNodeGroup.ROLE_KEY, MeshNodeGroup.REGION_KEY, escape(region));
  }

  private static String escape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }
}
