package io.infermesh.edge.grpc;

import static java.util.Objects.requireNonNull;

import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.TlsServerCredentials;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.certs.MalformedRequests;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshServer;
import io.infermesh.certs.Role;
import io.infermesh.certs.RoleAuthorizationPolicy;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.node.telemetry.Tracing;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC API of the edge agent: {@code infermesh.v1.Inference} plus the standard health and
 * reflection services, over TLS only.
 *
 * <p>With {@code grpc.tls.client_ca} set the server is a {@link MeshServer}: callers must present
 * a mesh certificate, calls are authorized by SPIFFE role ({@code grpc.tls.allowed_roles}), and
 * rotated files are picked up. Without it the server presents its certificate and callers are
 * authenticated by API key only. In both cases API keys name the tenant. Thread-safe.
 */
public final class GrpcApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GrpcApi.class);
  private static final Duration FORCED_WAIT = Duration.ofSeconds(5);

  private final MeshServer meshServer;
  private final Server plainTlsServer;
  private final HealthStatusManager health;
  private final String nodeId;
  private final Duration grace;

  private GrpcApi(MeshServer meshServer, Server plainTlsServer, HealthStatusManager health, String nodeId,
      Duration grace) {
    this.meshServer = meshServer;
    this.plainTlsServer = plainTlsServer;
    this.health = health;
    this.nodeId = nodeId;
    this.grace = grace;
  }

  /**
   * Starts serving {@code service}.
   *
   * @param host the address to bind when callers are not required to present certificates (mTLS
   *     servers bind every interface: a certificate authenticates each caller)
   * @param grace how long {@link #close()} waits for calls in flight
   * @throws IOException when the TLS files are unusable or the port cannot be bound
   */
  public static GrpcApi start(CompletionService service, EdgeConfig.Node node, EdgeConfig.Grpc config, String host,
      Duration grace) throws IOException {
    requireNonNull(service, "service");
    EdgeConfig.Tls tls = config.tls().orElseThrow(() -> new IllegalStateException("grpc.tls is not configured"));
    if (tls.mutual()) {
      RoleAuthorizationPolicy policy = RoleAuthorizationPolicy.builder()
          .allow(InferenceGrpc.SERVICE_NAME, roles(tls.allowedRoles()).get(0),
              roles(tls.allowedRoles()).subList(1, tls.allowedRoles().size()).toArray(Role[]::new))
          .build();
      // The node id must be known before the service exists, and MeshServer knows it only once
      // started: the service reads it through a holder.
      NodeIdHolder nodeId = new NodeIdHolder(node.name());
      InferenceGrpcService inference = new InferenceGrpcService(service, nodeId, node.region());
      MeshServer server = MeshServer.builder(config.port())
          .credentials(new MeshCredentialFiles(tls.certificateChain(), tls.privateKey(), tls.clientCa().get()))
          .authorization(policy)
          .addService(traced(service, ServerInterceptors.intercept(inference.bindLenient(), new AuthorizationHeader(), new InfermeshMetadata())))
          .shutdownGrace(grace)
          .start();
      nodeId.set(server.identity().toString());
      return new GrpcApi(server, null, server.health(), server.identity().toString(), grace);
    }
    ServerCredentials credentials;
    try {
      credentials = TlsServerCredentials.create(tls.certificateChain().toFile(), tls.privateKey().toFile());
    } catch (IOException | RuntimeException e) {
      throw new IOException("grpc.tls: cannot use " + tls.certificateChain() + " and " + tls.privateKey() + ": "
          + e.getMessage(), e);
    }
    HealthStatusManager health = new HealthStatusManager();
    InferenceGrpcService inference = new InferenceGrpcService(service, new NodeIdHolder(node.name()), node.region());
    ServerServiceDefinition definition = traced(service, ServerInterceptors.intercept(inference.bindLenient(), new AuthorizationHeader(), new InfermeshMetadata()));
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress(host, config.port()), credentials)
        .addService(MalformedRequests.guard(health.getHealthService().bindService()))
        .addService(MalformedRequests.guard(ProtoReflectionServiceV1.newInstance().bindService()))
        .addService(MalformedRequests.guard(definition))
        .build()
        .start();
    health.setStatus(InferenceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    log.info("serving {} on {}:{} over TLS (no client certificates; API keys authenticate)",
        InferenceGrpc.SERVICE_NAME, host, server.getPort());
    return new GrpcApi(null, server, health, node.name(), grace);
  }

  /** {@code definition} inside a server span per call, child of the caller's {@code traceparent}, when tracing is on. */
  private static ServerServiceDefinition traced(CompletionService service, ServerServiceDefinition definition) {
    Tracing tracing = service.tracing();
    return tracing.enabled() ? ServerInterceptors.intercept(definition, tracing.serverInterceptor()) : definition;
  }

  private static List<Role> roles(List<String> names) {
    return names.stream().map(Role::parse).toList();
  }

  /** The port listened on. */
  public int port() {
    return meshServer != null ? meshServer.port() : plainTlsServer.getPort();
  }

  /** The node id this server reports in {@code ServedBy}. */
  public String nodeId() {
    return nodeId;
  }

  /** Reports NOT_SERVING on the health service (before draining). */
  public void notServing() {
    health.setStatus(InferenceGrpc.SERVICE_NAME, ServingStatus.NOT_SERVING);
    health.setStatus("", ServingStatus.NOT_SERVING);
  }

  /** Stops accepting calls, waits for calls in flight within the grace, then cancels the rest. */
  @Override
  public void close() {
    if (meshServer != null) {
      meshServer.close();
      return;
    }
    health.enterTerminalState();
    plainTlsServer.shutdown();
    try {
      if (!plainTlsServer.awaitTermination(grace.toNanos(), TimeUnit.NANOSECONDS)) {
        plainTlsServer.shutdownNow();
        plainTlsServer.awaitTermination(FORCED_WAIT.toNanos(), TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      plainTlsServer.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** The node id, settable once the server knows its identity. Thread-safe. */
  static final class NodeIdHolder {
    private volatile String value;

    NodeIdHolder(String initial) {
      this.value = initial;
    }

    void set(String newValue) {
      this.value = newValue;
    }

    String get() {
      return value;
    }
  }
}
