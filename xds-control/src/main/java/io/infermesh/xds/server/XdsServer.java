package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.infermesh.certs.MalformedRequests;
import io.infermesh.certs.MeshServer;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.RoleAuthorizationPolicy;
import io.infermesh.node.xds.MeshXdsCredentialsProvider;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC face of the control plane: ADS and the per-type xDS services (CDS, EDS, LDS, RDS, SDS),
 * with {@code grpc.health.v1} and reflection.
 *
 * <p>Normally served through certs' {@link MeshServer}: mutual TLS, and per-service roles — ADS
 * for gateway (Envoy), edge and core (proxyless), operator; the per-type services and SDS for
 * gateway and operator. {@link NodeTracker} then checks what each node may claim. The plaintext
 * variant exists only for loopback (tests, demos without certificates), enforced by {@code
 * ControlSettings}. Proxyless grpc-xds clients use the mTLS port like Envoy does, with their own
 * mesh certificate ({@link ProxylessBootstrap#mtls}, {@link MeshXdsCredentialsProvider}).
 *
 * <p>{@link #close()} cancels the xDS streams at once (they never finish on their own); clients
 * keep their configuration and reconnect.
 */
public final class XdsServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(XdsServer.class);

  private final MeshServer meshServer;
  private final Server plainServer;
  private final HealthStatusManager plainHealth;

  private XdsServer(MeshServer meshServer, Server plainServer, HealthStatusManager plainHealth) {
    this.meshServer = meshServer;
    this.plainServer = plainServer;
    this.plainHealth = plainHealth;
  }

  private static List<ServerServiceDefinition> services(V3DiscoveryServer discovery) {
    List<BindableService> bindable = List.of(
        discovery.getAggregatedDiscoveryServiceImpl(),
        discovery.getClusterDiscoveryServiceImpl(),
        discovery.getEndpointDiscoveryServiceImpl(),
        discovery.getListenerDiscoveryServiceImpl(),
        discovery.getRouteDiscoveryServiceImpl(),
        discovery.getSecretDiscoveryServiceImpl());
    return bindable.stream().map(BindableService::bindService).toList();
  }

  /**
   * Serves over mutual TLS with this process's mesh identity (role control) on {@code address}
   * ({@code 0.0.0.0}: every interface): clients must present a mesh certificate.
   */
  public static XdsServer startMtls(String address, int port, MeshTls tls, V3DiscoveryServer discovery)
      throws IOException {
    requireNonNull(tls, "tls");
    List<ServerServiceDefinition> services = services(discovery);
    RoleAuthorizationPolicy.Builder policy = RoleAuthorizationPolicy.builder();
    for (ServerServiceDefinition s : services) {
      String name = s.getServiceDescriptor().getName();
      if (name.endsWith("AggregatedDiscoveryService")) {
        policy.allow(name, Role.GATEWAY, Role.EDGE, Role.CORE, Role.OPERATOR);
      } else {
        policy.allow(name, Role.GATEWAY, Role.OPERATOR);
      }
    }
    MeshServer.Builder builder = MeshServer.builder(port)
        .bindAddress(address)
        .tls(tls)
        .authorization(policy.build())
        .shutdownGrace(Duration.ZERO);
    services.forEach(builder::addService);
    return new XdsServer(builder.start(), null, null);
  }

  /**
   * Serves in plaintext on a loopback address only.
   *
   * @throws IllegalArgumentException if {@code address} is not loopback
   */
  public static XdsServer startPlaintextLoopback(String address, int port, V3DiscoveryServer discovery)
      throws IOException {
    InetSocketAddress bind = new InetSocketAddress(address, port);
    if (bind.getAddress() == null || !bind.getAddress().isLoopbackAddress()) {
      throw new IllegalArgumentException("plaintext xDS is only served on loopback, not " + address);
    }
    HealthStatusManager health = new HealthStatusManager();
    NettyServerBuilder builder = NettyServerBuilder.forAddress(bind)
        .addService(MalformedRequests.guard(health.getHealthService().bindService()))
        .addService(MalformedRequests.guard(ProtoReflectionServiceV1.newInstance().bindService()))
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true);
    services(discovery).forEach(s -> builder.addService(MalformedRequests.guard(s)));
    Server server = builder.build().start();
    health.setStatus("", HealthCheckResponse.ServingStatus.SERVING);
    log.warn("xds: serving in PLAINTEXT on {}:{} (loopback only; use mTLS anywhere else)", address, server.getPort());
    return new XdsServer(null, server, health);
  }

  /** The bound port. */
  public int port() {
    return meshServer != null ? meshServer.port() : plainServer.getPort();
  }

  @Override
  public void close() {
    if (meshServer != null) {
      meshServer.close();
      return;
    }
    plainHealth.enterTerminalState();
    plainServer.shutdownNow();
    try {
      if (!plainServer.awaitTermination(5, TimeUnit.SECONDS)) {
        log.warn("xds: server did not terminate within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
