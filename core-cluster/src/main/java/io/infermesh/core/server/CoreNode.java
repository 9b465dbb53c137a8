package io.infermesh.core.server;

import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.infermesh.api.v1.AdminGrpc;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.LeasesGrpc;
import io.infermesh.certs.DenyList;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshServer;
import io.infermesh.certs.MeshSignatures;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.RoleAuthorizationPolicy;
import io.infermesh.core.admin.CoreAdminService;
import io.infermesh.core.admin.ModelSwitch;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.Engine;
import io.infermesh.core.lease.LeaseBook;
import io.infermesh.core.lifecycle.HostedVersion;
import io.infermesh.core.lifecycle.ModelHost;
import io.infermesh.core.lifecycle.ModelSource;
import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.core.schedule.SchedulerStats;
import io.infermesh.core.schedule.Utilization;
import io.infermesh.core.shard.NextStage;
import io.infermesh.node.admin.Rotation;
import io.infermesh.node.admin.SwapOrder;
import io.infermesh.node.metrics.CertificateExpiryGauge;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.node.registration.ConsulRegistration;
import io.infermesh.node.registration.RegistrationMeta;
import io.infermesh.node.registration.RegistrationSettings;
import io.infermesh.node.telemetry.Tracing;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running core node: the mTLS gRPC server ({@code Inference} for roles edge and gateway, plus
 * health and reflection), the served model and the {@code /metrics} endpoint. Health reports
 * NOT_SERVING until a model is loaded (and again once closing starts). As stage 0 of a pipeline
 * ({@code stage.count} > 1) it holds the first layers and the scheduler, and reports NOT_SERVING
 * whenever the rest of the pipeline is unreachable. Later stages run as a {@link StageNode}.
 * With {@code consul.address} set, the node registers in Consul once serving starts, reports its
 * readiness to its check and its {@linkplain Utilization utilization} (sampled on the node's timer
 * thread, smoothed over {@code consul.utilization_window}, also the gauge
 * {@code infermesh.core.utilization}) in its meta, and deregisters first thing on {@link #close()}.
 * With {@code tenants.enforce} each call is admitted for its tenant, and with {@code audit.enabled}
 * each is written to the audit log, closed (synced) after the server stops. {@code Admin} (role
 * operator only) lists, swaps and rolls back its model versions and drains the node
 * ({@link CoreAdminService}); a drained node reports NOT_SERVING and refuses new calls.
 * Thread-safe.
 */
public final class CoreNode implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoreNode.class);
  private static final String INFERENCE = InferenceGrpc.SERVICE_NAME;

  private final CoreConfig config;
  private final MeshTls tls;
  private final MeshServer server;
  private final ModelHost host;
  private final CoreModelLoader loader;
  private final MetricsHttpServer metricsServer;
  private final ScheduledExecutorService timers;
  private final List<AutoCloseable> owned; // tls, the upstream, the audit log: closed last, in reverse
  private final ConsulRegistration registration; // null when consul.address is empty
  private final ScheduledExecutorService registrar; // null when consul.address is empty

  private CoreNode(CoreConfig config, MeshTls tls, MeshServer server, ModelHost host, CoreModelLoader loader,
      MetricsHttpServer m, ScheduledExecutorService timers, List<AutoCloseable> owned,
      ConsulRegistration registration, ScheduledExecutorService registrar) {
    this.config = config;
    this.tls = tls;
    this.server = server;
    this.host = host;
    this.loader = loader;
    this.metricsServer = m;
    this.timers = timers;
    this.owned = List.copyOf(owned);
    this.registration = registration;
    this.registrar = registrar;
  }

  /** The authorization of a core node's services: Inference for edge and gateway, Admin for operators only. */
  public static RoleAuthorizationPolicy policy() {
    return RoleAuthorizationPolicy.builder()
        .allow(INFERENCE, Role.EDGE, Role.GATEWAY)
        .allow(LeasesGrpc.SERVICE_NAME, Role.EDGE)
        .allow(AdminGrpc.SERVICE_NAME, Role.OPERATOR)
        .build();
  }

  /**
   * Starts the server (NOT_SERVING) and the metrics endpoint, and registers in Consul when
   * configured (a Consul that cannot be reached is retried, never fatal); call {@link #loadModel} next.
   *
   * @throws IOException if the credentials are unusable or a port cannot be bound
   */
  public static CoreNode start(CoreConfig config) throws IOException {
    return start(config, List.of());
  }

  /**
   * {@link #start(CoreConfig)}, with {@code interceptors} around the Inference service: they see
   * every call that passed authorization, in order (first = outermost), e.g. for tracing or for a
   * test that watches what reaches the core.
   */
  public static CoreNode start(CoreConfig config, List<ServerInterceptor> interceptors) throws IOException {
    if (config.stage().index() > 0) {
      throw new IllegalArgumentException("stage " + config.stage().index() + " runs as a StageNode, not a CoreNode");
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    HealthReporter health = new HealthReporter(INFERENCE);
    ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "core-timers");
      t.setDaemon(true);
      return t;
    });
    ModelHost host = new ModelHost(ready -> health.update(), timers);
    Rotation rotation = new Rotation(health::update);
    List<AutoCloseable> owned = new ArrayList<>();
    MeshTls tls;
    MeshServer server;
    CoreMetrics metrics;
    CoreModelLoader loader;
    Supplier<SchedulerStats> load;
    try {
      Tracing tracing = Tracing.start(config.telemetry());
      owned.add(tracing); // closed last (in reverse): flushes the spans of the calls that ended while the rest closed
      tls = MeshTls.builder(MeshCredentialFiles.in(config.tls().dir(), config.tls().name())).build();
      owned.add(tls);
      DenyList denyList = config.tls().denyList().isPresent()
          ? DenyList.watching(config.tls().denyList().get(), DenyList.DEFAULT_REFRESH_PERIOD) : DenyList.empty();
      owned.add(denyList);
      InferenceBackend backend;
      if (config.engine() instanceof Engine.Upstream) {
        Upstream up = Upstream.start(config, timers, health::update);
        owned.add(up);
        health.readyWhen(() -> !rotation.drained() && up.health().healthy());
        load = up::stats;
        backend = up.backend();
      } else {
        health.readyWhen(() -> !rotation.drained() && host.current().map(m -> m.loop().available()).orElse(false));
        load = CoreMetrics.of(host);
        backend = new BuiltInBackend(host, config.model().name());
      }
      metrics = new CoreMetrics(registry, load);
      CertificateExpiryGauge.register(registry, tls::certificate);
      Governance governance = Governance.open(config.tenants(), config.audit(), Clock.systemUTC(), timers, metrics,
          config.model().defaultMaxTokens());
      owned.add(governance); // closed after the server: the audit log's last records reach the disk
      InferenceService inference = new InferenceService(backend, tls.identity().toString(), config.node().region(),
          metrics, System::nanoTime, governance, tracing.tracer());
      loader = new CoreModelLoader(config, tls, timers, health::update, metrics);
      CoreAdminService admin = adminService(config, tls, timers, host, loader, rotation, health, owned);
      List<ServerInterceptor> gated = new ArrayList<>(interceptors);
      gated.add(rotation.gate(Set.of(InferenceGrpc.getGenerateMethod().getFullMethodName(),
          InferenceGrpc.getEmbedMethod().getFullMethodName())));
      server = MeshServer.builder(config.grpcPort())
          .bindAddress(config.listen().grpc())
          .tls(tls)
          .authorization(policy())
          .denyList(denyList)
          .initiallyNotServing() // until health.attach() finds the node ready
          .addService(new LeasesService(leaseBook(config, governance), governance.tenants(), metrics))
          .addService(ServerInterceptors.intercept(inference, reversed(served(tracing, gated))))
          .addService(admin)
          .start();
    } catch (IOException | RuntimeException e) {
      closeAll(owned);
      timers.shutdownNow();
      throw e;
    }
    health.attach(server);
    MetricsHttpServer m = null;
    try {
      if (config.metricsPort() >= 0) {
        m = MetricsHttpServer.start(config.listen().metrics(), config.metricsPort(), registry, health::ready);
      }
    } catch (IOException e) {
      server.close();
      closeAll(owned);
      timers.shutdownNow();
      throw new IOException("metrics.address/metrics.port " + config.listen().metrics() + ":" + config.metricsPort()
          + ": " + e.getMessage(), e);
    }
    log.info("core node {} up: gRPC {} ({}){}", server.identity(), hostPort(server.address()),
        config.engine() instanceof Engine.Upstream u ? "forwarding to " + u.url()
            + ", NOT_SERVING while it is unhealthy" : "NOT_SERVING until the model loads",
        m == null ? "" : ", metrics and probes on http://" + hostPort(m.address()) + " (/metrics /healthz /readyz)");
    ConsulRegistration registration = null;
    ScheduledExecutorService registrar = null;
    if (config.consul().enabled()) {
      registrar = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "core-consul");
        t.setDaemon(true);
        return t;
      });
      registration = ConsulRegistration.start(registrationSettings(config, server.port(),
          m == null ? 0 : m.address().getPort()), health::ready, registrar);
      health.onUpdate(registration::reportNow);
      registration.reportNow(); // a readiness change before the listener was in place is not lost
    }
    sampleUtilization(config, load, registration, timers, registry);
    return new CoreNode(config, tls, server, host, loader, m, timers, owned, registration, registrar);
  }

  /**
   * The Admin service: swaps through a {@link ModelSwitch} (two-phase over the later stages on
   * stage 0 of a pipeline; its control channel is added to {@code owned}), drain through
   * {@code rotation}.
   */
  private static CoreAdminService adminService(CoreConfig config, MeshTls tls, ScheduledExecutorService timers,
      ModelHost host, CoreModelLoader loader, Rotation rotation, HealthReporter health, List<AutoCloseable> owned) {
    ModelSwitch models = null;
    if (config.engine() instanceof Engine.BuiltIn) {
      NextStage control = null;
      if (config.stage().count() > 1) {
        control = NextStage.connect(config.stage().next(), tls, timers, NextStage.Settings.defaults());
        owned.add(control);
      }
      models = new ModelSwitch(host, loader, control == null ? null : control.swaps());
    }
    Path configured = config.model().path();
    Path modelDir = configured == null ? null : configured.toAbsolutePath().getParent();
    return new CoreAdminService(host, models, rotation, health::ready, tls.identity().toString(), () -> modelDir);
  }

  /**
   * The lease book when {@code leases.enabled}: signed with {@code leases.signing}'s identity, else the
   * node's own certificate; reserving in the tenants' quotas.
   */
  private static Optional<LeaseBook> leaseBook(CoreConfig config, Governance governance) throws IOException {
    if (!config.leases().enabled()) {
      return Optional.empty();
    }
    CoreConfig.Tls signing = config.leases().signing().orElse(config.tls());
    MeshSignatures.Signer signer;
    try {
      signer = MeshSignatures.signer(MeshCredentialFiles.in(signing.dir(), signing.name()));
    } catch (IOException e) {
      throw new IOException("leases.signing: " + e.getMessage(), e);
    }
    if (signer.identity().role() != Role.CORE) {
      throw new IOException("leases.signing: " + signer.identity() + " is not a core identity; edges trust leases "
          + "signed by role core only");
    }
    return Optional.of(LeaseBook.of(config.leases(), governance.tenants().quotas(), signer, Clock.systemUTC()));
  }

  /**
   * What this node registers in Consul: role core, its gRPC port, the attributes discovery reads,
   * and its {@code /metrics} port ({@code metricsPort} &gt; 0), which the control plane scrapes to
   * judge canary rollouts.
   */
  static RegistrationSettings registrationSettings(CoreConfig config, int grpcPort, int metricsPort) {
    ConsulConfig c = config.consul();
    ConsulConfig.Registration r = c.registration().orElseThrow();
    RegistrationSettings.Builder b = RegistrationSettings.builder(c.address(), r.serviceName(), config.node().name(),
        Role.CORE);
    if (metricsPort > 0) {
      b.meta(RegistrationMeta.METRICS_PORT, String.valueOf(metricsPort));
    }
    return b
        .token(c.token())
        .endpoint(r.serviceAddress(), grpcPort)
        .placement(config.node().region(), r.tier())
        .model(config.model().name(), config.model().version())
        .readiness("grpc.health.v1 SERVING")
        .timing(r.checkInterval(), r.deregisterAfter())
        .build();
  }

  /**
   * Samples the node's utilization on {@code timers}: the scheduler's batch and KV blocks (or the
   * upstream gate's calls) against {@code scheduler.max_batch_size}, smoothed over
   * {@code consul.utilization_window}; published as a gauge and to {@code registration} (if any).
   */
  private static void sampleUtilization(CoreConfig config, Supplier<SchedulerStats> load,
      ConsulRegistration registration, ScheduledExecutorService timers, PrometheusMeterRegistry registry) {
    Duration window = config.consul().registration().flatMap(ConsulConfig.Registration::utilizationWindow)
        .orElseThrow();
    UtilizationSampler sampler = new UtilizationSampler(load, config.scheduler().maxBatchSize(), window,
        System::nanoTime, registration == null ? u -> {} : registration::utilization);
    Gauge.builder("infermesh.core.utilization", sampler, UtilizationSampler::value)
        .description("Load as published to the control plane: 0 idle, 1 saturated, up to 2 with a queue")
        .register(registry);
    long period = UtilizationSampler.period(window).toMillis();
    timers.scheduleAtFixedRate(sampler::sample, period, period, TimeUnit.MILLISECONDS);
  }

  /**
   * The interceptors around the Inference service, outermost first: the call's server span (when
   * tracing is on: everything after runs in it), the version pin, then {@code given}.
   */
  private static List<ServerInterceptor> served(Tracing tracing, List<ServerInterceptor> given) {
    List<ServerInterceptor> all = new ArrayList<>();
    if (tracing.enabled()) {
      all.add(tracing.serverInterceptor());
    }
    all.add(new ModelVersionPin());
    all.addAll(given);
    return all;
  }

  /** ServerInterceptors.intercept runs the last one first; callers list the outermost first. */
  private static List<ServerInterceptor> reversed(List<ServerInterceptor> interceptors) {
    List<ServerInterceptor> r = new ArrayList<>(interceptors);
    Collections.reverse(r);
    return r;
  }

  private static void closeAll(List<AutoCloseable> resources) {
    for (int i = resources.size() - 1; i >= 0; i--) {
      try {
        resources.get(i).close();
      } catch (Exception e) {
        log.warn("closing {} failed", resources.get(i), e);
      }
    }
  }

  /**
   * Loads (or hot-swaps to) the model at {@code path}, checking its main file against
   * {@code sha256} (empty: no check); new requests go to it once loaded, the old one drains (for
   * up to two minutes). Health turns SERVING. Operators swap through the Admin service instead,
   * which pins every weight file.
   *
   * @throws IOException with a one-line reason if the model cannot be loaded
   */
  public ServedModel loadModel(Path path, String sha256, String version) throws IOException {
    HostedVersion v = loader.load(path, sha256, new ModelSource(path, Map.of(), version), false);
    host.swap(v, SwapOrder.DEFAULT_DRAIN);
    return v.model();
  }

  static ServedModel.SchedulingLimits limits(CoreConfig.Scheduling s) {
    return new ServedModel.SchedulingLimits(s.maxQueued(), s.maxBatchSize(), s.maxBatchTokens(), s.prefillChunk(),
        s.kvBlocks(), s.kvBlockSize(), s.contextLength(), s.aging(), s.prefixCache());
  }

  /** {@code host:port} as a log line shows a listen address ({@code 0.0.0.0:PORT} for every interface). */
  static String hostPort(InetSocketAddress address) {
    return address.getHostString() + ":" + address.getPort();
  }

  /** Loads the configured model. */
  public ServedModel loadConfiguredModel() throws IOException {
    CoreConfig.Model mc = config.model();
    if (mc.path() == null) {
      throw new IOException("model.path: not set (a GGUF file or a Hugging Face checkpoint directory)");
    }
    return loadModel(mc.path(), mc.sha256(), mc.version());
  }

  public int port() {
    return server.port();
  }

  public int metricsPort() {
    return metricsServer == null ? -1 : metricsServer.port();
  }

  public ModelHost host() {
    return host;
  }

  public MeshServer server() {
    return server;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() {
    if (registration != null) {
      registration.close(); // out of discovery before the server stops answering
      registrar.shutdownNow();
    }
    server.close(); // reports NOT_SERVING first
    host.close();
    if (metricsServer != null) {
      metricsServer.close();
    }
    timers.shutdownNow();
    closeAll(owned);
  }

  /** Whether this node forwards to an upstream engine instead of loading a model. */
  public boolean upstream() {
    return config.engine() instanceof Engine.Upstream;
  }
}
