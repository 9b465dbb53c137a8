package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way infermesh servers are started: gRPC over mutual TLS only (there is no plaintext
 * option), every call authorized by role through {@link RoleAuthorizationInterceptor}, and the
 * standard health ({@code grpc.health.v1}) and reflection ({@code grpc.reflection.v1}) services
 * registered the same way everywhere. A request message that does not parse is answered with
 * {@code INVALID_ARGUMENT} on every service ({@link MalformedRequests}), never grpc-java's
 * {@code UNKNOWN}.
 *
 * <pre>{@code
 * try (MeshServer server = MeshServer.builder(9443)
 *     .credentials(MeshCredentialFiles.in(Path.of("certs"), "core-0"))
 *     .authorization(RoleAuthorizationPolicy.builder().allow("infermesh.v1.Inference", Role.EDGE).build())
 *     .addService(new InferenceService(...))
 *     .start()) {
 *   server.awaitTermination();
 * }
 * }</pre>
 *
 * <p>Every added service, and the whole server (name {@code ""}), reports {@code SERVING} once
 * started, or {@code NOT_SERVING} with {@link Builder#initiallyNotServing()} (for a server that
 * must load something first: the statuses are set before the port is bound, so no health check
 * ever sees {@code SERVING} too early). The owner flips a service or the whole server through
 * {@link #health()}. {@link #close()} reports {@code NOT_SERVING}, stops accepting calls, waits up
 * to the shutdown grace for calls in flight, then cancels the rest. Thread-safe.
 */
public final class MeshServer implements AutoCloseable {
  /** How long {@link #close()} waits for calls in flight when no grace is set. */
  public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(5);

  private static final Logger log = LoggerFactory.getLogger(MeshServer.class);
  private static final Duration FORCED_TERMINATION_WAIT = Duration.ofSeconds(5);

  private final Server server;
  private final int port;
  private final InetSocketAddress address;
  private final HealthStatusManager health;
  private final MeshTls tls;
  private final boolean ownsTls;
  private final Duration shutdownGrace;
  private final Object closeLock = new Object();
  // @GuardedBy("closeLock")
  private boolean closed;

  private MeshServer(Server server, HealthStatusManager health, MeshTls tls, boolean ownsTls,
      Duration shutdownGrace) {
    this.server = server;
    this.port = server.getPort();
    this.address = boundAddress(server);
    this.health = health;
    this.tls = tls;
    this.ownsTls = ownsTls;
    this.shutdownGrace = shutdownGrace;
  }

  private static InetSocketAddress boundAddress(Server server) {
    for (SocketAddress a : server.getListenSockets()) {
      if (a instanceof InetSocketAddress inet) {
        return inet;
      }
    }
    throw new IllegalStateException("server has no IP listen socket: " + server.getListenSockets());
  }

  /**
   * Starts configuring a server on {@code port}, on every interface unless
   * {@link Builder#bindAddress(InetAddress)} says otherwise; 0 picks a free port (see
   * {@link #port()}).
   *
   * @throws IllegalArgumentException when the port is outside 0..65535
   */
  public static Builder builder(int port) {
    return new Builder(port);
  }

  /** The port the server is bound to (the chosen one when built with port 0). */
  public int port() {
    return port;
  }

  /**
   * The address the server listens on: the wildcard address (every interface) by default, else
   * the {@linkplain Builder#bindAddress(InetAddress) bind address}; the port is {@link #port()}.
   */
  public InetSocketAddress address() {
    return address;
  }

  /** The health service's status table, for reporting readiness per service. */
  public HealthStatusManager health() {
    return health;
  }

  /** The server's own SPIFFE ID (it follows rotations). */
  public SpiffeId identity() {
    return tls.identity();
  }

  /** Blocks until the server has terminated (after {@link #close()} from another thread). */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /**
   * Reports {@code NOT_SERVING}, shuts down gracefully within the shutdown grace, then forcibly,
   * and stops reloading credentials if this server loaded them. Idempotent; if interrupted, the
   * server is shut down forcibly and the interrupt is kept.
   */
  @Override
  public void close() {
    synchronized (closeLock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    health.enterTerminalState();
    server.shutdown();
    try {
      if (!server.awaitTermination(shutdownGrace.toNanos(), TimeUnit.NANOSECONDS)) {
        if (!shutdownGrace.isZero()) {
          log.info("calls still running on port {} after {}; cancelling them", port, shutdownGrace);
        }
        server.shutdownNow();
        if (!server.awaitTermination(FORCED_TERMINATION_WAIT.toNanos(), TimeUnit.NANOSECONDS)) {
          log.warn("server on port {} did not terminate within {} of being forced down", port,
              FORCED_TERMINATION_WAIT);
        }
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    } finally {
      if (ownsTls) {
        tls.close();
      }
    }
  }

  @Override
  public String toString() {
    return "MeshServer{address=" + address + ", identity=" + tls.identity() + "}";
  }

  /** Configures a {@link MeshServer}. Not thread-safe. */
  public static final class Builder {
    private final int port;
    private InetAddress bindAddress; // null: every interface
    private boolean initiallyServing = true;
    private final List<ServerServiceDefinition> services = new ArrayList<>();
    private MeshTls tls;
    private MeshCredentialFiles credentials;
    private Duration refreshPeriod = MeshTls.DEFAULT_REFRESH_PERIOD;
    private RoleAuthorizationPolicy policy;
    private DenyList denyList = DenyList.empty();
    private Executor executor;
    private Duration shutdownGrace = DEFAULT_SHUTDOWN_GRACE;

    private Builder(int port) {
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
      }
      this.port = port;
    }

    /**
     * Serves with credentials loaded from {@code files}; the server owns them and stops reloading
     * them when closed. Set this or {@link #tls}, not both.
     */
    public Builder credentials(MeshCredentialFiles files) {
      this.credentials = requireNonNull(files, "files");
      return this;
    }

    /** How often {@link #credentials} files are re-read ({@link MeshTls#DEFAULT_REFRESH_PERIOD} by default). */
    public Builder refreshPeriod(Duration refreshPeriod) {
      this.refreshPeriod = Durations.requirePositive(refreshPeriod, "refresh period");
      return this;
    }

    /**
     * Serves with credentials the caller also uses elsewhere (e.g. for its client channels); the
     * server does not close them. Set this or {@link #credentials}, not both.
     */
    public Builder tls(MeshTls tls) {
      this.tls = requireNonNull(tls, "tls");
      return this;
    }

    /**
     * Refuses every call from an identity or certificate {@code denyList} revokes
     * ({@code PERMISSION_DENIED}), even while its certificate is valid; none by default. The
     * server does not close it.
     */
    public Builder denyList(DenyList denyList) {
      this.denyList = requireNonNull(denyList, "denyList");
      return this;
    }

    /** Who may call what. Required. Health and reflection are always open to every role. */
    public Builder authorization(RoleAuthorizationPolicy policy) {
      this.policy = requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Listens on {@code address} only (e.g. {@code 127.0.0.1}, or one interface's address)
     * instead of on every interface. The wildcard address ({@code 0.0.0.0} or {@code ::}) means
     * every interface, IPv4 and IPv6, as when this is not called.
     */
    public Builder bindAddress(InetAddress address) {
      this.bindAddress = requireNonNull(address, "address");
      return this;
    }

    /**
     * Listens on {@code host} only: an IP literal ({@code 127.0.0.1}, {@code ::1}) or a name,
     * resolved now to its first address.
     *
     * @throws IllegalArgumentException when {@code host} is blank or cannot be resolved
     */
    public Builder bindAddress(String host) {
      requireNonNull(host, "host");
      if (host.isBlank()) {
        throw new IllegalArgumentException("bind address must not be blank");
      }
      try {
        return bindAddress(InetAddress.getByName(host.strip()));
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("bind address '" + host + "' cannot be resolved", e);
      }
    }

    /**
     * Starts with every added service and the whole server ({@code ""}) reporting {@code
     * NOT_SERVING}, for a server that is not ready to answer when its port opens (a model still
     * loading); the owner reports {@code SERVING} through {@link MeshServer#health()} when it is.
     */
    public Builder initiallyNotServing() {
      this.initiallyServing = false;
      return this;
    }

    /** Adds a service; it reports {@code SERVING} once the server starts (see {@link #initiallyNotServing()}). */
    public Builder addService(BindableService service) {
      return addService(requireNonNull(service, "service").bindService());
    }

    /** Adds a service; it reports {@code SERVING} once the server starts (see {@link #initiallyNotServing()}). */
    public Builder addService(ServerServiceDefinition service) {
      requireNonNull(service, "service");
      String name = service.getServiceDescriptor().getName();
      if (name.equals(RoleAuthorizationPolicy.HEALTH_SERVICE) || name.equals(RoleAuthorizationPolicy.REFLECTION_SERVICE)) {
        throw new IllegalArgumentException(name + " is registered by MeshServer itself; do not add it");
      }
      for (ServerServiceDefinition added : services) {
        if (added.getServiceDescriptor().getName().equals(name)) {
          throw new IllegalArgumentException("service " + name + " was already added");
        }
      }
      services.add(service);
      return this;
    }

    /** The executor that runs calls (gRPC's shared cached pool by default). */
    public Builder executor(Executor executor) {
      this.executor = requireNonNull(executor, "executor");
      return this;
    }

    /** How long {@link MeshServer#close()} waits for calls in flight ({@link #DEFAULT_SHUTDOWN_GRACE} by default). */
    public Builder shutdownGrace(Duration grace) {
      requireNonNull(grace, "grace");
      if (grace.isNegative()) {
        throw new IllegalArgumentException("shutdown grace must not be negative, got " + grace);
      }
      this.shutdownGrace = grace;
      return this;
    }

    /**
     * Loads the credentials (if given as files), binds the port and starts serving.
     *
     * @throws IllegalStateException when credentials or the authorization policy are missing
     * @throws IOException when the credential files are unusable or the port cannot be bound
     */
    public MeshServer start() throws IOException {
      if ((tls == null) == (credentials == null)) {
        throw new IllegalStateException(tls == null
            ? "no TLS credentials: call credentials(files) or tls(meshTls); MeshServer never serves plaintext"
            : "both credentials(files) and tls(meshTls) were set; set one");
      }
      if (policy == null) {
        throw new IllegalStateException("no authorization policy: call authorization(policy)");
      }
      boolean ownsTls = tls == null;
      MeshTls serverTls = ownsTls
          ? MeshTls.builder(credentials).refreshPeriod(refreshPeriod).build()
          : tls;
      try {
        HealthStatusManager health = new HealthStatusManager();
        // Statuses are set before the port is bound: no check can see a service before its status.
        ServingStatus initial = initiallyServing ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        health.setStatus("", initial);
        for (ServerServiceDefinition service : services) {
          health.setStatus(service.getServiceDescriptor().getName(), initial);
        }
        // The wildcard port-only address is dual-stack; an explicit 0.0.0.0 would be IPv4 only.
        InetSocketAddress listen = bindAddress == null || bindAddress.isAnyLocalAddress()
            ? new InetSocketAddress(port)
            : new InetSocketAddress(bindAddress, port);
        NettyServerBuilder builder = NettyServerBuilder.forAddress(listen, serverTls.serverCredentials())
            .addService(MalformedRequests.guard(health.getHealthService().bindService()))
            .addService(MalformedRequests.guard(ProtoReflectionServiceV1.newInstance().bindService()))
            .intercept(RoleAuthorizationInterceptor.of(serverTls.trustDomain(), policy, denyList));
        services.forEach(s -> builder.addService(MalformedRequests.guard(s)));
        if (executor != null) {
          builder.executor(executor);
        }
        Server server = builder.build().start();
        MeshServer started = new MeshServer(server, health, serverTls, ownsTls, shutdownGrace);
        log.info("serving {} on {} over mutual TLS as {}{}",
            services.stream().map(s -> s.getServiceDescriptor().getName()).toList(), started.address(),
            serverTls.identity(), initiallyServing ? "" : " (NOT_SERVING until its owner is ready)");
        return started;
      } catch (IOException | RuntimeException e) {
        if (ownsTls) {
          serverTls.close();
        }
        throw e;
      }
    }
  }
}
