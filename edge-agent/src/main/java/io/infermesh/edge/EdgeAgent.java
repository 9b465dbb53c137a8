package io.infermesh.edge;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Ticker;
import io.infermesh.certs.ReloadingSslContext;
import io.infermesh.certs.Role;
import io.infermesh.edge.admin.EdgeAdminService;
import io.infermesh.edge.admin.EdgeModelSwitch;
import io.infermesh.edge.auth.ApiKeys;
import io.infermesh.edge.auth.RateLimiter;
import io.infermesh.edge.auth.jwt.JwksCache;
import io.infermesh.edge.auth.jwt.JwksSource;
import io.infermesh.edge.auth.jwt.JwtValidator;
import io.infermesh.edge.batch.BatchJobs;
import io.infermesh.edge.batch.SpareCapacity;
import io.infermesh.edge.cache.ResponseCache;
import io.infermesh.edge.calibrate.OnlineCalibration;
import io.infermesh.edge.calibrate.ShadowEscalation;
import io.infermesh.edge.config.Audit;
import io.infermesh.edge.config.Calibration;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.JwtAuth;
import io.infermesh.edge.config.LocalEngine;
import io.infermesh.edge.config.Routing;
import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.LlamaEmbedder;
import io.infermesh.edge.engine.LlamaEngine;
import io.infermesh.edge.engine.NativeLibraryDirectory;
import io.infermesh.edge.escalate.CoreClient;
import io.infermesh.edge.grpc.GrpcApi;
import io.infermesh.edge.http.BatchLines;
import io.infermesh.edge.http.HttpApi;
import io.infermesh.edge.http.HttpBindAddress;
import io.infermesh.edge.identity.CertificateRenewer;
import io.infermesh.edge.lease.EdgeLeases;
import io.infermesh.edge.metrics.EdgeMetrics;
import io.infermesh.edge.reanswer.Reanswers;
import io.infermesh.edge.route.DifficultyScorer;
import io.infermesh.edge.route.EdgeLoad;
import io.infermesh.edge.route.FeatureScorer;
import io.infermesh.edge.route.LearnedScorer;
import io.infermesh.edge.route.LocalOnlyRouter;
import io.infermesh.edge.route.MeshRouter;
import io.infermesh.edge.route.QuantileThreshold;
import io.infermesh.edge.route.Router;
import io.infermesh.edge.route.Threshold;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.LoadEstimate;
import io.infermesh.edge.swap.EngineVersions;
import io.infermesh.edge.upstream.UpstreamEngine;
import io.infermesh.node.admin.Rotation;
import io.infermesh.node.audit.AuditLog;
import io.infermesh.node.metrics.CertificateExpiryGauge;
import io.infermesh.node.quota.QuotaLedger;
import io.infermesh.node.quota.QuotaWindow;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.node.registration.ConsulRegistration;
import io.infermesh.node.registration.RegistrationSettings;
import io.infermesh.node.telemetry.Tracing;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running edge agent: the HTTP API, the gRPC API (when TLS is configured), and the engine
 * behind the shared {@link CompletionService}.
 *
 * <p>{@link Builder#start()} binds the ports at once and loads the model in the background, so
 * {@code /healthz} answers while {@code /readyz} says "loading"; {@link #awaitModel} waits for the
 * load and reports its failure. With no API keys configured both APIs bind loopback only.
 *
 * <p>With {@code consul.address} set the agent registers in Consul (role {@code edge}, its gRPC
 * port, else its HTTP port; both ports in the meta), its TTL check passes while the model is
 * loaded and the agent is not draining, and its load (slots in use, queue depth, and their sum
 * over the slots as {@code utilization}) is sampled every second into the meta.
 *
 * <p>{@link #close()} first deregisters from Consul, then shuts down cleanly: readiness turns
 * false and new requests are refused, the listeners stop accepting, requests in flight get up to
 * {@code shutdown.grace} to finish, the rest are cancelled, then the servers and the engine stop.
 * Thread-safe.
 */
public final class EdgeAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EdgeAgent.class);
  private static final Duration AFTER_ABORT_WAIT = Duration.ofSeconds(5);

  private final EdgeConfig config;
  private final CompletionService service;
  private final PrometheusMeterRegistry registry;
  private final HttpApi http;
  private final String httpHost;
  private final GrpcApi grpc;
  private final CompletableFuture<Engine> engine;
  private final boolean ownsEngine;
  private final List<AutoCloseable> owned;
  private final ConsulRegistration registration; // null when consul.address is empty
  private final ScheduledExecutorService registrar; // null when consul.address is empty
  private final Object closeLock = new Object();
  // @GuardedBy("closeLock")
  private boolean closed;

  private EdgeAgent(EdgeConfig config, CompletionService service, PrometheusMeterRegistry registry, HttpApi http, String httpHost, GrpcApi grpc, CompletableFuture<Engine> engine,
      boolean ownsEngine, List<AutoCloseable> owned, ConsulRegistration registration,
      ScheduledExecutorService registrar) {
    this.owned = List.copyOf(owned);
    this.registration = registration;
    this.registrar = registrar;
    this.config = config;
    this.service = service;
    this.registry = registry;
    this.http = http;
    this.httpHost = httpHost;
    this.grpc = grpc;
    this.engine = engine;
    this.ownsEngine = ownsEngine;
  }

  /** Starts configuring an agent for {@code config}. */
  public static Builder builder(EdgeConfig config) {
    return new Builder(config);
  }

  /** The HTTP port (the chosen one when configured as 0). */
  public int httpPort() {
    return http.port();
  }

  /** The address the HTTP API is bound to (loopback when no API keys are configured). */
  public String httpHost() {
    return httpHost;
  }

  /** {@code https} when {@code http.tls} is set, else {@code http}. */
  public String httpScheme() {
    return config.http().secure() ? "https" : "http";
  }

  /** The gRPC port, when gRPC runs. */
  public OptionalInt grpcPort() {
    return grpc == null ? OptionalInt.empty() : OptionalInt.of(grpc.port());
  }

  /** The request path shared by both APIs (for in-process callers and benchmarks). */
  public CompletionService service() {
    return service;
  }

  /** The metrics registry behind {@code /metrics}. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The configuration this agent runs with. */
  public EdgeConfig config() {
    return config;
  }

  /**
   * Waits up to {@code timeout} for the model to load.
   *
   * @throws IOException the load's failure (missing file, digest mismatch, llama.cpp refusal)
   * @throws TimeoutException when it is still loading
   */
  public Engine awaitModel(Duration timeout) throws IOException, InterruptedException, TimeoutException {
    try {
      return engine.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IOException("model load failed: " + e.getCause(), e.getCause());
    }
  }

  /** Shuts down within {@code shutdown.grace} (see the class comment). Idempotent. */
  @Override
  public void close() {
    synchronized (closeLock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    if (registration != null) {
      registration.close(); // out of discovery before the agent stops answering
      registrar.shutdownNow();
    }
    Duration grace = config.shutdown().grace();
    log.info("shutting down: refusing new requests, waiting up to {} for {} in flight", grace, service.inFlight());
    service.drain();
    if (grpc != null) {
      grpc.notServing();
    }
    http.stopAccepting();
    Thread grpcStop = null;
    if (grpc != null) {
      grpcStop = new Thread(grpc::close, "infermesh-grpc-shutdown");
      grpcStop.start();
    }
    try {
      if (!service.awaitIdle(grace)) {
        log.info("{} requests still running after {}; cancelling them", service.inFlight(), grace);
        service.abortAll(EdgeException.unavailable("the agent is shutting down; retry on another instance"));
        service.awaitIdle(AFTER_ABORT_WAIT);
      }
      // Generation has ended; let the HTTP threads write what they still hold.
      http.awaitIdle(AFTER_ABORT_WAIT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      service.abortAll(EdgeException.unavailable("the agent is shutting down"));
    }
    http.close();
    if (grpcStop != null) {
      try {
        grpcStop.join(grace.plus(AFTER_ABORT_WAIT).toMillis() + 1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (ownsEngine) {
      engine.cancel(false);
    }
    service.versions().close(); // the engines it loaded (the configured one, and any an operator swapped in)
    service.embeddings().close(); // its llama.cpp context, if a request loaded it
    for (AutoCloseable c : owned) {
      try {
        c.close();
      } catch (Exception e) {
        log.warn("closing {} failed: {}", c, e.toString());
      }
    }
    registry.close();
    log.info("stopped");
  }

  /** Configures and starts an {@link EdgeAgent}. Not thread-safe. */
  public static final class Builder {
    private final EdgeConfig config;
    private Engine engine;
    private Router router;
    private Clock clock = Clock.systemUTC();
    private Ticker ticker = Ticker.systemTicker();
    private int cores = Runtime.getRuntime().availableProcessors();

    private Builder(EdgeConfig config) {
      this.config = requireNonNull(config, "config");
    }

    /**
     * Serves with an engine that is already loaded (shared by tests and benchmarks); the agent
     * does not close it. Without one the agent loads {@code model.path} itself.
     */
    public Builder engine(Engine loaded) {
      this.engine = requireNonNull(loaded, "loaded");
      return this;
    }

    /**
     * The routing policy. By default: a {@link MeshRouter} over the escalation client when {@code
     * escalation.target} is set, else the {@link LocalOnlyRouter}.
     */
    public Builder router(Router router) {
      this.router = requireNonNull(router, "router");
      return this;
    }

    /** The wall clock for response timestamps (system UTC by default). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** The monotonic time source for deadlines, rate limits and cache expiry (the system ticker by default). */
    public Builder ticker(Ticker ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
      return this;
    }

    /** The core count that picks the default thread count (the JVM's by default). */
    public Builder cores(int cores) {
      if (cores < 1) {
        throw new IllegalArgumentException("cores must be at least 1, got " + cores);
      }
      this.cores = cores;
      return this;
    }

    /**
     * Binds the ports and starts loading the model.
     *
     * @throws IOException when a port cannot be bound or the gRPC TLS files are unusable
     */
    public EdgeAgent start() throws IOException {
      EdgeConfig.Model model = config.model();
      if (config.engine() instanceof LocalEngine.BuiltIn builtIn) { // before anything loads llama.cpp
        builtIn.nativeLibrary().ifPresent(NativeLibraryDirectory::select);
      }
      // Refuse an exposed plaintext API, and unusable TLS files, before anything is started.
      String httpHost = HttpBindAddress.of(config.http(), config.auth().enabled());
      Optional<ReloadingSslContext> httpsContext = httpsContext(config.http());
      int slots = engine != null ? engine.info().parallel()
          : config.engine() instanceof LocalEngine.Upstream u ? u.maxConcurrency() : model.parallel();
      AdmissionQueue admission = AdmissionQueue.create(slots, config.admission().queueDepth());
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      new JvmMemoryMetrics().bindTo(registry);
      new JvmThreadMetrics().bindTo(registry);
      new ProcessorMetrics().bindTo(registry);
      new UptimeMetrics().bindTo(registry);
      ApiKeys keys = ApiKeys.of(config.auth());
      List<AutoCloseable> owned = new ArrayList<>();
      Tracing tracing = Tracing.start(config.telemetry());
      Escalator escalator = Escalator.none();
      CoreClient coreClient = null;
      if (config.escalation().enabled()) {
        CoreClient client = CoreClient.connect(config.escalation(), config.node(), tracing, registry);
        coreClient = client;
        owned.add(client);
        escalator = client;
        if (config.escalation().renew().isPresent()) { // closed before the client: its first owned
          owned.add(0, CertificateRenewer.builder(config.escalation().renew().get(), client.tls())
              .clock(clock).metrics(registry).start());
        }
        io.micrometer.core.instrument.Gauge.builder("infermesh.escalation.core.available", client,
                c -> c.state() == io.infermesh.edge.route.CoreState.AVAILABLE ? 1 : 0)
            .description("Whether the core can take escalations (1) or its circuit is open or it is unreachable (0)")
            .register(registry);
        CertificateExpiryGauge.register(registry, client::certificate);
      }
      LoadEstimate load = new LoadEstimate(admission);
      ShadowEscalation shadows = null;
      if (config.routing().calibration().enabled() && config.escalation().enabled() && router == null) {
        shadows = shadowEscalation(escalator, registry, owned);
      }
      Router chosen = router;
      if (chosen == null) {
        chosen = config.escalation().enabled() ? meshRouter(escalator, load, owned,
            Optional.ofNullable(shadows).map(ShadowEscalation::calibration)) : new LocalOnlyRouter();
      }
      // an operator's drain (Admin.Drain): readiness and gRPC health follow it
      AtomicReference<Runnable> rotated = new AtomicReference<>(() -> {});
      Rotation rotation = new Rotation(() -> rotated.get().run());
      ScheduledExecutorService drainTimer = daemonScheduler("edge-drain-timer");
      owned.add(drainTimer::shutdownNow);
      CompletionService.Builder services = CompletionService.builder()
          .versions(new EngineVersions(drainTimer))
          .operatorDrained(rotation::drained)
          .config(config)
          .router(chosen)
          .escalator(escalator)
          .load(load)
          .cache(ResponseCache.create(config.cache().enabled() ? config.cache().maxBytes() : 0, config.cache().ttl(),
              ticker))
          .apiKeys(keys)
          .rateLimiter(RateLimiter.create(ticker::read))
          .admission(admission)
          .metrics(EdgeMetrics.of(registry))
          .tracing(tracing)
          .ticker(ticker);
      if (config.privacy().enabled()) {
        services.privacy(config.privacyPolicies());
      }
      if (shadows != null) {
        services.localAnswerTap(shadows);
      }
      if (config.auth().quotas()) {
        services.quotas(quotaLedger(config.auth(), clock));
      }
      if (config.auth().jwt().isPresent()) {
        services.jwt(jwtValidator(config.auth().jwt().get(), clock, owned));
      }
      if (config.audit().enabled()) {
        services.audit(auditLog(config.audit(), clock, owned), clock);
      }
      if (config.leases().enabled()) {
        EdgeLeases leases = EdgeLeases.start(config, clock);
        owned.add(leases);
        services.leases(leases.wallet());
      }
      if (config.reanswer().enabled()) {
        Reanswers reanswers = Reanswers.start(config.reanswer(), coreClient, clock, registry);
        owned.add(0, reanswers); // stopped before the core client it replays through
        services.deferrals(reanswers);
      }
      CompletionService service = services.build();
      Optional<BatchJobs> batches = Optional.empty();
      if (config.batch().enabled()) {
        batches = Optional.of(BatchJobs.start(config, BatchLines.of(service, clock), SpareCapacity.of(admission), clock));
        owned.add(batches.get());
      }

      HttpApi http;
      try {
        http = HttpApi.start(service, registry::scrape, config.http(), httpHost, config.limits(), clock,
            httpsContext.map(ReloadingSslContext::sslContext), batches.map(BatchJobs::service));
      } catch (RuntimeException e) {
        httpsContext.ifPresent(ReloadingSslContext::close);
        batches.ifPresent(BatchJobs::close);
        throw new IOException("http: cannot listen on " + httpHost + ":" + config.http().port() + ": "
            + e.getMessage(), e);
      }
      httpsContext.ifPresent(owned::add);
      GrpcApi grpc = null;
      if (config.grpc().enabled()) {
        boolean mutual = config.grpc().tls().map(EdgeConfig.Tls::mutual).orElse(false);
        String grpcHost = mutual ? config.grpc().host()
            : exposedHost("grpc", config.grpc().host(), config.auth().enabled());
        AtomicReference<GrpcApi> started = new AtomicReference<>();
        EdgeAdminService admin = new EdgeAdminService(service, new EdgeModelSwitch(service.versions(), model, cores),
            rotation, () -> started.get() == null ? config.node().name() : started.get().nodeId());
        try {
          grpc = GrpcApi.start(service, config.node(), config.grpc(), grpcHost, config.shutdown().grace(), admin);
          started.set(grpc);
          GrpcApi health = grpc;
          rotated.set(() -> health.readiness(service.ready()));
        } catch (IOException | RuntimeException e) {
          http.close();
          throw e;
        }
      } else {
        log.info("gRPC is off: grpc.tls is not configured (the gRPC API never serves plaintext)");
      }
      log.info("HTTP API on {}://{}:{}{}", config.http().secure() ? "https" : "http", httpHost, http.port(),
          grpc == null ? "" : ", gRPC API on port " + grpc.port());

      CompletableFuture<Engine> loaded;
      boolean owns = engine == null;
      if (engine != null) {
        loaded = CompletableFuture.completedFuture(engine);
        service.engineLoaded(engine);
      } else {
        loaded = new CompletableFuture<>();
        int machineCores = cores;
        Thread loader = new Thread(() -> {
          try {
            Engine e = config.engine() instanceof LocalEngine.Upstream u ? UpstreamEngine.connect(u, model, System::getenv)
                : LlamaEngine.load(model, machineCores);
            service.engineLoaded(e, true);
            if (!loaded.complete(e)) {
              e.close(); // the agent closed while loading
            }
          } catch (IOException | RuntimeException e) {
            log.error("cannot load the model: {}", e.getMessage());
            loaded.completeExceptionally(e);
          }
        }, "infermesh-model-loader");
        loader.setDaemon(true);
        loader.start();
      }
      ConsulRegistration registration = null;
      ScheduledExecutorService registrar = null;
      if (config.consul().enabled()) {
        registrar = Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "edge-consul");
          t.setDaemon(true);
          return t;
        });
        String modelName = engine != null ? engine.info().name() : model.effectiveName();
        String version = engine != null ? engine.info().version() : "";
        registration = ConsulRegistration.start(
            registrationSettings(config, modelName, version, http.port(), grpc == null ? -1 : grpc.port()),
            service::ready, registrar);
        ConsulRegistration published = registration;
        registrar.scheduleAtFixedRate(() -> publishLoad(admission, published), 1, 1, TimeUnit.SECONDS);
        loaded.thenRun(published::reportNow); // passing as soon as the model is loaded, not at the next interval
      }
      owned.add(tracing); // last: flushes the spans of the requests that ended while the rest closed
      return new EdgeAgent(config, service, registry, http, httpHost, grpc, loaded, owns, owned, registration,
          registrar);
    }

    /**
     * What this edge registers: role edge, dialled on its gRPC port when it serves gRPC, else on its
     * HTTP port; both ports in the meta.
     */
    static RegistrationSettings registrationSettings(EdgeConfig config, String modelName, String version,
        int httpPort, int grpcPort) {
      ConsulConfig c = config.consul();
      ConsulConfig.Registration r = c.registration().orElseThrow();
      RegistrationSettings.Builder b = RegistrationSettings.builder(c.address(), r.serviceName(), config.node().name(),
              Role.EDGE)
          .token(c.token())
          .endpoint(r.serviceAddress(), grpcPort > 0 ? grpcPort : httpPort)
          .placement(config.node().region(), r.tier())
          .model(modelName, version)
          .meta("http_port", String.valueOf(httpPort))
          .readiness("model loaded, not draining")
          .timing(r.checkInterval(), r.deregisterAfter());
      if (grpcPort > 0) {
        b.meta("grpc_port", String.valueOf(grpcPort));
      }
      return b.build();
    }

    /**
     * Publishes the edge's load: generation slots in use and requests waiting for one, and their
     * sum over the slots as utilization (1 = every slot busy, capped at 2 as a core's is).
     */
    private static void publishLoad(AdmissionQueue admission, ConsulRegistration registration) {
      int running = admission.running();
      int waiting = admission.waiting();
      double utilization = Math.min(2.0, (double) (running + waiting) / admission.slots());
      registration.load(utilization, Map.of("slots_in_use", String.valueOf(running),
          "slots", String.valueOf(admission.slots()), "queue_depth", String.valueOf(waiting)));
    }

    /** The audit log of {@code audit}, its periodic fsync on a daemon thread; both stopped by {@code owned}. */
    private static AuditLog auditLog(Audit audit, Clock clock, List<AutoCloseable> owned) throws IOException {
      ScheduledExecutorService fsync = daemonScheduler("audit-fsync");
      owned.add(fsync::shutdownNow);
      AuditLog log = AuditLog.builder(audit.directory().orElseThrow())
          .maxFileBytes(audit.maxFileBytes())
          .maxFileAge(audit.maxFileAge())
          .fsync(audit.fsync())
          .fsyncInterval(audit.fsyncInterval())
          .clock(clock)
          .scheduler(fsync)
          .open();
      owned.add(log);
      return log;
    }

    private static ScheduledExecutorService daemonScheduler(String name) {
      return Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
      });
    }

    /** Validates bearer JWTs against the key set of {@code jwt}, refreshed on a daemon thread {@code owned} stops. */
    private static JwtValidator jwtValidator(JwtAuth jwt, Clock clock, List<AutoCloseable> owned) throws IOException {
      ScheduledExecutorService refresher = daemonScheduler("jwks-refresh");
      owned.add(refresher::shutdownNow);
      JwksSource source;
      if (jwt.jwksFile().isPresent()) {
        source = JwksSource.file(jwt.jwksFile().get());
      } else {
        try {
          source = JwksSource.https(jwt.jwksUrl().orElseThrow(), SSLContext.getDefault(), Duration.ofSeconds(10));
        } catch (NoSuchAlgorithmException e) {
          throw new IOException("auth.jwt.jwks_url: this JVM has no default TLS context", e);
        }
      }
      JwksCache keys = JwksCache.builder(source).refreshInterval(jwt.refresh()).scheduler(refresher).start();
      owned.add(keys);
      return JwtValidator.builder(keys, jwt.issuer(), jwt.audience())
          .clock(clock)
          .clockSkew(jwt.clockSkew())
          .tenantClaim(jwt.tenantClaim())
          .priorityClaim(jwt.priorityClaim())
          .privacyClaim(jwt.privacyClaim())
          .build();
    }

    /** The token quotas of {@code auth}'s tenants (per UTC day and month), on {@code clock}. */
    private static QuotaLedger quotaLedger(EdgeConfig.Auth auth, Clock clock) {
      QuotaLedger.Builder quotas = QuotaLedger.builder(clock);
      for (EdgeConfig.Tenant t : auth.tenants()) {
        if (t.tokensPerDay() > 0) {
          quotas.limit(t.name(), QuotaWindow.DAY, t.tokensPerDay());
        }
        if (t.tokensPerMonth() > 0) {
          quotas.limit(t.name(), QuotaWindow.MONTH, t.tokensPerMonth());
        }
      }
      return quotas.build();
    }

    /** The shadow escalations and the online calibration they teach ({@code routing.calibration}). */
    private ShadowEscalation shadowEscalation(Escalator escalator, PrometheusMeterRegistry registry,
        List<AutoCloseable> owned) throws IOException {
      Calibration c = config.routing().calibration();
      LlamaEmbedder embedder = LlamaEmbedder.load(config.model().path(), 512, Math.max(1, Math.min(2, cores)));
      ShadowEscalation shadows;
      try {
        OnlineCalibration calibration = OnlineCalibration.open(embedder, new OnlineCalibration.Settings(c.target(),
            c.agreementThreshold(), c.learningRate(), c.l2(), c.initialThreshold(), c.step(), c.stateFile()));
        shadows = ShadowEscalation.start(escalator, calibration,
            new ShadowEscalation.Settings(c.shadowFraction(), c.concurrency(), c.queue(), c.timeout()),
            () -> ThreadLocalRandom.current().nextDouble(), registry);
      } catch (IOException | RuntimeException e) {
        embedder.close();
        throw e;
      }
      owned.add(shadows); // closed first: its workers embed with the embedder
      owned.add(embedder);
      log.info("routing: self-calibrating ({}), shadowing {} of local answers; {} examples learned so far",
          c.target().text(), c.shadowFraction(), shadows.calibration().state().examples());
      return shadows;
    }

    private MeshRouter meshRouter(Escalator escalator, EdgeLoad load, List<AutoCloseable> owned,
        Optional<OnlineCalibration> calibration) throws IOException {
      Routing r = config.routing();
      if (calibration.isPresent()) {
        return meshRouterWith(escalator, load, calibration.get(), calibration.get());
      }
      DifficultyScorer scorer = FeatureScorer.defaults();
      if (r.scorer().equals("learned")) {
        LlamaEmbedder embedder = LlamaEmbedder.load(config.model().path(), 512, Math.max(1, Math.min(2, cores)));
        owned.add(embedder);
        long t0 = System.nanoTime();
        scorer = LearnedScorer.train(embedder, LearnedScorer.readExamples(r.trainingFile().orElseThrow()));
        log.info("trained the learned router on {} in {} ms", r.trainingFile().get(), (System.nanoTime() - t0) / 1_000_000);
      }
      Threshold threshold = r.targetRate().isPresent()
          ? QuantileThreshold.of(r.targetRate().getAsDouble(), r.window(), Math.min(r.window(), 20), r.threshold())
          : Threshold.fixed(r.threshold());
      return meshRouterWith(escalator, load, scorer, threshold);
    }

    private MeshRouter meshRouterWith(Escalator escalator, EdgeLoad load, DifficultyScorer scorer,
        Threshold threshold) {
      Routing r = config.routing();
      return MeshRouter.builder()
          .coreModels(Set.copyOf(r.coreModels()))
          .listedCoreModels(escalator::coreModelNames)
          .localOnlyTenants(Set.copyOf(r.localOnlyTenants()))
          .scorer(scorer)
          .threshold(threshold)
          .core(escalator::state)
          .load(load)
          .defaultBudget(r.defaultBudget())
          .build();
    }

    /** The host to bind: {@code configured}, unless no API keys are set, then loopback only. */
    private static String exposedHost(String api, String configured, boolean authenticated) {
      if (authenticated || isLoopback(configured)) {
        return configured;
      }
      log.warn("no API keys configured (auth.tenants is empty): the {} API listens on 127.0.0.1 only, not {}; "
          + "add keys to edge.yaml to expose it", api, configured);
      return "127.0.0.1";
    }

    private static boolean isLoopback(String host) {
      return HttpBindAddress.isLoopback(host);
    }

    /** The HTTPS context over {@code http.tls}'s files, loaded now so that a bad file stops the start. */
    private static Optional<ReloadingSslContext> httpsContext(EdgeConfig.Http http) throws IOException {
      if (http.tls().isEmpty()) {
        return Optional.empty();
      }
      EdgeConfig.HttpTls tls = http.tls().get();
      ReloadingSslContext.Builder b = ReloadingSslContext.builder(tls.certificateChain(), tls.privateKey())
          .refreshPeriod(tls.refreshPeriod());
      tls.clientCa().ifPresent(b::trustBundle);
      try {
        return Optional.of(b.build());
      } catch (IOException e) {
        throw new IOException("http.tls: " + e.getMessage(), e);
      }
    }

  }

  @Override
  public String toString() {
    return "EdgeAgent{http=" + http.port() + ", grpc=" + Optional.ofNullable(grpc).map(GrpcApi::port).orElse(null)
        + "}";
  }
}
