package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.RoleAuthorizationInterceptor;
import io.infermesh.node.metrics.CertificateExpiryGauge;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.xds.canary.RolloutStatus;
import io.infermesh.xds.config.ControlSettings;
import io.infermesh.xds.config.MeshConfig;
import io.infermesh.xds.discovery.ConsulEndpointSource;
import io.infermesh.xds.discovery.DiscoveredMesh;
import io.infermesh.xds.discovery.EndpointSource;
import io.infermesh.xds.discovery.StaticEndpointSource;
import io.infermesh.xds.snapshot.MeshNodeGroup;
import io.infermesh.xds.snapshot.RegionPolicy;
import io.infermesh.xds.snapshot.SecretMaterial;
import io.infermesh.xds.snapshot.ServicePolicy;
import io.infermesh.xds.snapshot.XdsGroup;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole control plane from one {@link MeshConfig}: discovery (static + Consul) → snapshot
 * publisher (burst state, SDS identities) → java-control-plane's cache → ADS/SDS server, with the
 * node tracker and the admin endpoint.
 *
 * <p>SDS identities are each gateway's own certificate, issued ahead of time into {@code
 * control.gateway_certificates} ({@link GatewayCertificates}, re-read every minute); the control
 * plane holds no CA key. A gateway's snapshot is served only to a caller presenting that gateway's
 * identity ({@link NodeTracker}).
 *
 * <p>Start order makes restarts safe: discovery first, then the first snapshots (every source has
 * answered, or {@code startupTimeout} passed), and only then the xDS port opens — a restarted
 * control plane never serves an empty mesh, and clients, which keep their configuration while it
 * is away, see the same versions again.
 *
 * <p>Thread-safe. {@link #close()} stops everything in reverse order.
 */
public final class ControlPlane implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ControlPlane.class);

  private final MeshConfig config;
  private final PrometheusMeterRegistry meters;
  private final StaticEndpointSource staticSource;
  private final DiscoveredMesh discovery;
  private final SnapshotPublisher publisher;
  private final NodeTracker tracker;
  private final XdsServer xds;
  private final AdminServer admin;
  private final ScheduledExecutorService executor;
  private final MeshTls tls;
  private final SimpleCache<XdsGroup> cache;
  private final CanaryDriver canary;

  private ControlPlane(Builder b) throws IOException, InterruptedException {
    this.config = b.config;
    this.meters = b.meters;
    new JvmMemoryMetrics().bindTo(meters);
    new JvmThreadMetrics().bindTo(meters);
    new ProcessorMetrics().bindTo(meters);
    ControlSettings control = config.control();
    // Over mTLS with mtls policy, each Envoy gets its own gateway's group (its certificate over SDS);
    // plaintext xDS serves no identity at all: there is no authenticated caller to give one to.
    boolean gatewayIdentities = config.policy().mtls() && !control.plaintext();
    MeshNodeGroup groups = gatewayIdentities ? MeshNodeGroup.of(config.policy()).withGatewayIdentities(config.policy())
        : MeshNodeGroup.of(config.policy());
    this.cache = new SimpleCache<>(groups);
    this.executor = newExecutor("xds-publisher");
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      Supplier<SecretMaterial> secrets = SecretMaterial::none;
      GatewayCertificates gateways = null;
      if (gatewayIdentities) {
        gateways = new GatewayCertificates(control.gatewayCertificateDirectory().orElseThrow(),
            config.policy().trustDomain(), b.clock);
        gateways.reload();
        secrets = gateways::current;
      }
      this.publisher = new SnapshotPublisher(cache,
          CanaryDriver.initialPolicy(config.policy(), config.rollouts(), b.clock), secrets, b.clock, executor,
          control.refreshInterval(), meters);
      opened.add(publisher);
      publisher.start();
      this.canary = new CanaryDriver(config.policy(), config.rollouts(), b.clock, publisher,
          new MetricsScraper(Duration.ofSeconds(5)), newExecutor("xds-canary"), meters);
      opened.add(canary);
      canary.start();
      if (gateways != null) {
        GatewayCertificates g = gateways;
        executor.scheduleWithFixedDelay(() -> {
          try {
            if (g.reload()) {
              publisher.requestPublish();
            }
          } catch (IOException | RuntimeException e) {
            log.error("sds: re-reading the gateway certificates in {} failed; the current ones stay in force, "
                + "retrying", g.directory(), e);
          }
        }, 1, 1, TimeUnit.MINUTES);
      }

      this.staticSource = new StaticEndpointSource(config.staticEndpoints());
      List<EndpointSource> sources = new ArrayList<>();
      sources.add(staticSource);
      config.consul().ifPresent(consul -> sources.add(consulSource(consul)));
      sources.addAll(b.extraSources);
      this.discovery = new DiscoveredMesh(sources, publisher::update);
      opened.add(discovery);
      discovery.start();
      if (!publisher.awaitFirstPublish(b.startupTimeout)) {
        discovery.forceReady();
        if (!publisher.awaitFirstPublish(Duration.ofSeconds(5))) {
          throw new IllegalStateException("no snapshot could be built; see the errors above");
        }
      }

      this.tracker = new NodeTracker(groups, b.clock, RoleAuthorizationInterceptor::currentPeer, meters,
          group -> publisher.current() != null && publisher.current().snapshots().containsKey(group));
      V3DiscoveryServer server = new V3DiscoveryServer(List.of(tracker), new NackAwareWatcher(cache));
      if (control.plaintext()) {
        this.tls = null;
        this.xds = XdsServer.startPlaintextLoopback(control.xdsAddress(), control.xdsPort(), server);
      } else {
        ControlSettings.Credentials c = control.credentials().orElseThrow();
        this.tls = MeshTls.builder(MeshCredentialFiles.in(c.directory(), c.name())).build();
        opened.add(tls);
        CertificateExpiryGauge.register(meters, tls::certificate);
        this.xds = XdsServer.startMtls(control.xdsAddress(), control.xdsPort(), tls, server);
      }
      opened.add(xds);
      this.admin = control.adminPort() < 0 ? null
          : AdminServer.start(control.adminAddress(), control.adminPort(), tracker, publisher, meters);
      if (admin != null) {
        admin.serveJson("/canary", canary::view);
      }
      log.info("control plane up: xDS on port {}{}, {} endpoints, groups {}", xds.port(),
          admin == null ? "" : ", admin on port " + admin.port(), discovery.state().endpoints().size(),
          publisher.current().snapshots().keySet());
    } catch (IOException | InterruptedException | RuntimeException e) {
      for (int i = opened.size() - 1; i >= 0; i--) {
        try {
          opened.get(i).close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      executor.shutdownNow();
      throw e;
    }
  }

  private ConsulEndpointSource consulSource(ConsulConfig consul) {
    List<String> watched = consul.watch().orElseThrow().services();
    List<String> services = watched.isEmpty()
        ? config.policy().services().stream().map(ServicePolicy::name).toList()
        : watched;
    return new ConsulEndpointSource(consul, services,
        region -> config.policy().region(region).map(RegionPolicy::tier),
        service -> config.policy().services().stream().filter(p -> p.name().equals(service)).findFirst()
            .map(ServicePolicy::serverRole),
        meters, null);
  }

  private static ScheduledExecutorService newExecutor(String name) {
    ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
    pool.setRemoveOnCancelPolicy(true);
    return pool;
  }

  /** Starts building a control plane for {@code config}. */
  public static Builder builder(MeshConfig config) {
    return new Builder(config);
  }

  /** The xDS port. */
  public int xdsPort() {
    return xds.port();
  }

  /** The admin HTTP port; -1 when disabled. */
  public int adminPort() {
    return admin == null ? -1 : admin.port();
  }

  /** The static endpoint source ({@code discovery.static}); replace its list to change the mesh. */
  public StaticEndpointSource staticEndpoints() {
    return staticSource;
  }

  /** Per-node ACK/NACK state. */
  public NodeTracker nodes() {
    return tracker;
  }

  /** The snapshot publisher (current snapshots, state, burst shares). */
  public SnapshotPublisher publisher() {
    return publisher;
  }

  /** Every canary rollout's status, by service (empty without {@code rollouts}). */
  public Map<String, RolloutStatus> rollouts() {
    return canary.statuses();
  }

  /** The snapshot cache the server serves from; tests inject snapshots a client must reject. */
  SimpleCache<XdsGroup> cache() {
    return cache;
  }

  /** The metrics registry. */
  public PrometheusMeterRegistry meters() {
    return meters;
  }

  /** The configuration it runs. */
  public MeshConfig config() {
    return config;
  }

  @Override
  public void close() {
    if (admin != null) {
      admin.close();
    }
    xds.close();
    discovery.close();
    canary.close();
    publisher.close();
    executor.shutdownNow();
    if (tls != null) {
      tls.close();
    }
    log.info("control plane stopped");
  }

  /** Configures a {@link ControlPlane}. Not thread-safe. */
  public static final class Builder {
    private final MeshConfig config;
    private PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private Clock clock = Clock.systemUTC();
    private Duration startupTimeout = Duration.ofSeconds(10);
    private final List<EndpointSource> extraSources = new ArrayList<>();

    private Builder(MeshConfig config) {
      this.config = requireNonNull(config, "config");
    }

    public Builder meters(PrometheusMeterRegistry value) {
      this.meters = requireNonNull(value, "meters");
      return this;
    }

    /** The clock for burst hysteresis and certificate renewal. */
    public Builder clock(Clock value) {
      this.clock = requireNonNull(value, "clock");
      return this;
    }

    /** How long to wait for every discovery source before publishing what is known. */
    public Builder startupTimeout(Duration value) {
      this.startupTimeout = requireNonNull(value, "startupTimeout");
      return this;
    }

    /** Another endpoint source, merged after static and Consul. */
    public Builder addSource(EndpointSource source) {
      extraSources.add(requireNonNull(source, "source"));
      return this;
    }

    /**
     * Starts discovery, publishes the first snapshots, then opens the xDS and admin ports.
     *
     * @throws IOException when a port cannot be bound or credentials cannot be read
     */
    public ControlPlane start() throws IOException, InterruptedException {
      return new ControlPlane(this);
    }
  }
}
