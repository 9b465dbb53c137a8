package io.infermesh.xds.snapshot;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;

/**
 * Builds LDS listeners: Envoy's TCP ingress (HTTP connection manager, routes over RDS, optional
 * TLS towards apps with the identity from SDS), and for proxyless gRPC one API listener per gRPC
 * service, named as the service so {@code xds:///service} finds it. Stateless.
 */
final class ListenerResources {

  static final String HCM_FILTER = "envoy.filters.network.http_connection_manager";
  static final String ROUTER_FILTER = "envoy.filters.http.router";

  private ListenerResources() {}

  static Listener envoyIngress(MeshPolicy policy) {
    FilterChain.Builder chain = FilterChain.newBuilder()
        .addFilters(Filter.newBuilder()
            .setName(HCM_FILTER)
            .setTypedConfig(Any.pack(connectionManager(ResourceNames.INGRESS))));
    if (policy.mtls() && policy.envoy().downstreamTls()) {
      chain.setTransportSocket(TransportSocket.newBuilder()
          .setName(ClusterResources.TLS_TRANSPORT_SOCKET)
          .setTypedConfig(Any.pack(DownstreamTlsContext.newBuilder()
              .setCommonTlsContext(CommonTlsContext.newBuilder()
                  .addTlsCertificateSdsSecretConfigs(ClusterResources.sds(ResourceNames.IDENTITY_SECRET))
                  .addAlpnProtocols("h2")
                  .addAlpnProtocols("http/1.1"))
              .build())));
    }
    return Listener.newBuilder()
        .setName(ResourceNames.INGRESS)
        .setAddress(Address.newBuilder()
            .setSocketAddress(SocketAddress.newBuilder()
                .setAddress(policy.envoy().listenerAddress())
                .setPortValue(policy.envoy().listenerPort())))
        .addFilterChains(chain)
        .build();
  }

  /** The digest of a sample API listener: how this code builds them (see {@link #grpcApiListenerVersioned}). */
  private static final byte[] API_LISTENER_SHAPE = ResourceVersions.digest(grpcApiListener(ServicePolicy.grpc("shape")));

  /**
   * The service's API listener, with a digest composed from its name and {@link
   * #API_LISTENER_SHAPE}: the listener depends on nothing else, so no listener is encoded to
   * version it.
   */
  static Versioned<Listener> grpcApiListenerVersioned(ServicePolicy service) {
    return Versioned.of(grpcApiListener(service), new ComposedDigest().type(Listener.getDescriptor())
        .bytes(API_LISTENER_SHAPE).string(service.name()).digest());
  }

  static Listener grpcApiListener(ServicePolicy service) {
    String name = ResourceNames.grpcListener(service.name());
    return Listener.newBuilder()
        .setName(name)
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(connectionManager(name))))
        .build();
  }

  private static HttpConnectionManager connectionManager(String routeConfigName) {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix(routeConfigName)
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .setRds(Rds.newBuilder()
            .setConfigSource(XdsProtos.ads())
            .setRouteConfigName(routeConfigName))
        .addHttpFilters(HttpFilter.newBuilder()
            .setName(ROUTER_FILTER)
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
  }
}
