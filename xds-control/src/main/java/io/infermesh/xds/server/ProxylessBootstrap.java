package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.xds.snapshot.MeshNodeGroup;

/**
 * The grpc-xds bootstrap a proxyless client (an edge agent) needs to reach this control plane
 * and be grouped by region: put it in {@code GRPC_XDS_BOOTSTRAP_CONFIG} (or the
 * {@code io.grpc.xds.bootstrapConfig} system property) before the first {@code xds:///} channel.
 * grpc-xds reads it once per JVM.
 *
 * <p>The xDS channel is plaintext ({@code insecure}) because grpc-xds 1.85's {@code tls}
 * channel-creds type cannot be given mesh certificate files; use it on loopback or a trusted
 * network, or register an {@code XdsCredentialsProvider} that builds mesh mTLS credentials and
 * name it in {@code channel_creds}. The data-plane calls use the channel's own credentials.
 * {@code ignore_resource_deletion} keeps the client's configuration if a restarting control
 * plane briefly lacks a resource.
 */
public final class ProxylessBootstrap {

  private ProxylessBootstrap() {}

  /**
   * @param xdsAddress {@code host:port} of the control plane
   * @param nodeId this client's unique id (shown on the admin endpoint)
   * @param region this client's region; endpoints there are preferred
   * @param channelCredsType {@code insecure}, or the name of a registered XdsCredentialsProvider
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
