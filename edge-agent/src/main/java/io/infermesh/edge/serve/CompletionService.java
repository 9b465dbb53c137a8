package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Ticker;
import io.infermesh.edge.auth.ApiKeys;
import io.infermesh.edge.auth.RateLimiter;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.auth.jwt.JwtValidator;
import io.infermesh.edge.cache.CacheKey;
import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.cache.ResponseCache;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.lease.LeaseWallet;
import io.infermesh.edge.metrics.EdgeMetrics;
import io.infermesh.edge.privacy.PrivacyPolicies;
import io.infermesh.edge.route.Router;
import io.infermesh.node.audit.AuditLog;
import io.infermesh.node.quota.QuotaLedger;
import io.infermesh.node.telemetry.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The request path both transports share. Transports parse their wire format into a {@link
 * CompletionRequest}, call {@link #open}, and pull the {@link CompletionStream}; failures before
 * the first event are thrown as {@link EdgeException}. {@link #open} is four steps, each its own
 * class:
 *
 * <ol>
 *   <li>{@link Intake}: the model, hints, size bounds, fields and the tenant's rates → a {@link Job};
 *   <li>{@link RequestPlanner}: the cache, the {@link Router} and the cascade → a {@link Plan}
 *       (pure: decided without side effects, and tested so);
 *   <li>the plan's executor: {@link LocalGenerations}, {@link Escalations} (through the {@link
 *       Egress}) or {@link CascadeRun}, or a replay of the cached answer;
 *   <li>{@link InFlight}, the ledger every running request is in until it ends (for a drain), and
 *       {@link Accounting}, where it reports what it cost.
 * </ol>
 *
 * <p>Thread-safe. Everything runs on the caller's thread: {@link #open} decides synchronously, and
 * the transport thread that reads the {@link CompletionStream} waits for a slot and pulls tokens.
 * Shutdown is {@link #drain()}, {@link #awaitIdle}, then {@link #abortAll}.
 */
public final class CompletionService {
  private static final Logger log = LoggerFactory.getLogger(CompletionService.class);

  private final EdgeConfig config;
  private final ApiKeys apiKeys;
  private final EdgeMetrics metrics;
  private final ResponseCache cache;
  private final Ticker ticker;
  private final Escalator escalator;
  private final InFlight ledger = new InFlight();
  private final Intake intake;
  private final RequestPlanner planner;
  private final Accounting accounting;
  private final LocalGenerations local;
  private final Escalations escalations;
  private final CascadeRun cascade;
  private final EmbeddingService embeddings;
  private final PrivacyGate privacy;
  private final QuotaAdmission quotas;
  private final LeaseAdmission leases;
  private final Authentication authentication;
  private final AuditTrail audit;
  private final Tracing tracing;
  private final Tracer tracer;
  private final Deferrals deferrals;
  // written once the model is loaded; read on every request
  private volatile Engine engine;

  private CompletionService(Builder b) {
    this.config = b.config;
    this.apiKeys = b.apiKeys;
    this.metrics = b.metrics;
    this.cache = b.cache;
    this.ticker = b.ticker;
    this.escalator = b.escalator;
    this.tracing = b.tracing;
    this.tracer = b.tracing.tracer();
    this.intake = Intake.of(b);
    this.privacy = b.privacyGate;
    this.quotas = b.quotas == null ? null : new QuotaAdmission(b.quotas);
    this.leases = b.leases == null ? null : new LeaseAdmission(b.leases, config.leases().syncInterval());
    this.audit = b.auditLog == null ? AuditTrail.NONE : new AuditTrail(b.auditLog, b.auditClock);
    this.deferrals = b.deferrals;
    PrivacyPolicies policies = b.privacyPolicies;
    this.authentication = new Authentication(apiKeys, Optional.ofNullable(b.jwt), config.auth(),
        name -> policies != null && policies.named(name).isPresent(), metrics);
    this.planner = RequestPlanner.builder()
        .router(b.router)
        .core(b.escalator::state)
        .cache(config.cache().enabled())
        .cascade(config.routing().cascade())
        .defaultMaxTokens(config.model().defaultMaxTokens())
        .build();
    this.accounting = Accounting.of(b, ledger);
    this.local = new LocalGenerations(b.admission, ledger, accounting, config.admission().retryAfter(), tracer);
    this.escalations = Escalations.of(b, local, ledger, accounting);
    this.cascade = new CascadeRun(local, escalations, accounting);
    this.embeddings = new EmbeddingService(config, () -> engine, escalator, intake, accounting);
    metrics.queueDepth(b.admission::waiting);
    metrics.inFlight(ledger::size);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** {@code /v1/embeddings} on whichever tier the request names. */
  public EmbeddingService embeddings() {
    return embeddings;
  }

  /** Where degraded answers wait for the core's re-answer ({@code reanswer:}; {@link Deferrals#NONE} when off). */
  public Deferrals deferrals() {
    return deferrals;
  }

  /** Makes {@code loaded} the engine that answers; until then requests get UNAVAILABLE. */
  public void engineLoaded(Engine loaded) {
    this.engine = requireNonNull(loaded, "loaded");
  }

  /** The engine, once loaded. */
  public Optional<Engine> engine() {
    return Optional.ofNullable(engine);
  }

  /** Whether requests are being answered: the model is loaded and the service is not draining. */
  public boolean ready() {
    return engine != null && !ledger.draining();
  }

  /** The loaded model, if any. */
  public Optional<ModelInfo> model() {
    return Optional.ofNullable(engine).map(Engine::info);
  }

  /**
   * Every model id a request may name, for {@code /v1/models}: the aliases, the edge's model and the
   * core's (asking the core when its list is stale). Empty until the edge's model is loaded.
   */
  public List<ListedModel> listModels() {
    Engine e = engine;
    if (e == null) {
      return List.of();
    }
    boolean core = config.escalation().enabled();
    return ListedModel.all(e.info(), core, core ? escalator.coreModels() : List.of(), config.routing().coreModels());
  }

  /** Requests generating, waiting for a slot or streaming from the core now. */
  public int inFlight() {
    return ledger.size();
  }

  /**
   * The tenant of an {@code Authorization} header value: an API key's, or a JWT's when {@code
   * auth.jwt} is set ({@link Authentication}). With neither configured every request is {@link
   * Tenant#ANONYMOUS}.
   *
   * @throws EdgeException UNAUTHENTICATED for a missing, unknown or invalid credential, naming the
   *     failure's class, never the credential
   */
  public Tenant authenticate(String authorization) {
    Span span = tracer.spanBuilder(EdgeSpans.AUTH).startSpan();
    try {
      return authentication.authenticate(authorization);
    } catch (EdgeException e) {
      EdgeSpans.failed(span, e);
      throw e;
    } finally {
      span.end();
    }
  }

  /** This service's tracing ({@link Tracing#off()} unless the builder was given one); transports start their spans from it. */
  public Tracing tracing() {
    return tracing;
  }

  /**
   * Starts answering {@code request} for {@code tenant}.
   *
   * @throws EdgeException when the request is refused before generation starts (invalid, unknown
   *     model, rate-limited, queue full, not ready)
   */
  public CompletionStream open(CompletionRequest request, Tenant tenant) {
    long arrived = ticker.read();
    String modelTag = RequestPlanner.modelTag(request.model());
    Job job = null;
    try {
      Engine e = engine;
      ledger.checkOpen();
      if (e == null) {
        throw EdgeException.unavailable("the model is still loading; retry shortly");
      }
      request = VersionPin.honoured(request, e.info(), config.routing().coreModels(), config.escalation().enabled());
      intake.screen(request, e.info());
      modelTag = e.info().name();
      job = intake.accept(request, tenant, e.info(), arrived);
      checkReanswer(job);
      if (privacy != null) {
        job = job.screened(privacy.screen(job));
      }
      Plan plan = planned(job, e);
      if (quotas != null) {
        job = quotas.admit(job, plan);
      }
      if (leases != null) {
        job = leases.admit(job, plan);
      }
      return tracked(job, e, plan);
    } catch (EdgeException ex) {
      String reason = rejectionReason(ex);
      if (ex.kind() != EdgeException.Kind.UNAUTHENTICATED) {
        metrics.rejection(reason);
      }
      String code = ex.code().orElse("");
      audit.refused(job == null ? request.requestId() : job.id(), tenant,
          job == null ? Screening.NONE : job.screening(), reason,
          code.startsWith("tokens_per_") || code.equals(LeaseAdmission.LEASE) ? "exceeded:" + code : "");
      metrics.request(request.operation().semanticName(), modelTag, "none", ex.kind().metricName(),
          Duration.ofNanos(ticker.read() - arrived));
      throw ex;
    }
  }

  /** The reason a refusal is counted under: the privacy refusals by their own names, others by kind. */
  private static String rejectionReason(EdgeException ex) {
    String code = ex.code().orElse("");
    return code.equals(PrivacyGate.BLOCKED) ? "privacy_blocked"
        : code.equals(PrivacyGate.LOCAL_ONLY) ? "privacy_local_only"
        : code.startsWith("tokens_per_") ? "quota"
        : code.equals(LeaseAdmission.LEASE) ? LeaseAdmission.LEASE : ex.kind().metricName();
  }

  /** The {@link RequestPlanner}'s plan for {@code job}, in a span that names the route and its reason. */
  private Plan planned(Job job, Engine e) {
    CompletionRequest r = job.request();
    Span span = tracer.spanBuilder(EdgeSpans.ROUTE).setAttribute(EdgeSpans.REQUEST_ID, job.id())
        .setAttribute(EdgeSpans.OPERATION, r.operation().semanticName())
        .setAttribute(EdgeSpans.REQUEST_MODEL, r.model()).startSpan();
    try (Scope ignored = span.makeCurrent()) {
      Plan plan = planner.plan(job, facts(job, e));
      span.setAttribute(EdgeSpans.ROUTE_TAKEN, plan.decision().route().wireName());
      span.setAttribute(EdgeSpans.ROUTE_REASON, plan.decision().reason());
      return plan;
    } catch (EdgeException ex) {
      EdgeSpans.failed(span, ex);
      throw ex;
    } finally {
      span.end();
    }
  }

  /** What the planner may ask about {@code job}: the cache (each lookup counted) and the rendered prompt. */
  private RequestPlanner.Facts facts(Job job, Engine e) {
    return new RequestPlanner.Facts() {
      @Override
      public Optional<CachedCompletion> cached(CacheKey key) {
        Span span = tracer.spanBuilder(EdgeSpans.CACHE).startSpan();
        try {
          Optional<CachedCompletion> hit = cache.get(key);
          metrics.cacheLookup(hit.isPresent());
          span.setAttribute(EdgeSpans.CACHE_HIT, hit.isPresent());
          return hit;
        } finally {
          span.end();
        }
      }

      @Override
      public Prompt prompt() {
        CompletionRequest r = job.request();
        return job.chat() ? e.renderChat(r.messages()) : e.rawPrompt(r.prompt());
      }

      @Override
      public int vocabSize() {
        return e.vocabSize();
      }
    };
  }

  /**
   * {@link #execute}, through the tenant's output filter ({@link PrivacyGate#filtered}), with the request's end ({@link ClientStream}: the quota reservation settled,
   * the audit record written) when its client closes the answer.
   */
  private CompletionStream tracked(Job job, Engine e, Plan plan) {
    if (job.meter() == Meter.NONE && audit == AuditTrail.NONE || plan instanceof Plan.FromCache) {
      return answer(job, e, plan);
    }
    CompletionStream answer;
    try {
      answer = answer(job, e, plan);
    } catch (RuntimeException ex) {
      job.meter().settle(0);
      throw ex;
    }
    return new ClientStream(answer, job, audit);
  }

  /** {@code plan} carried out, filtered, and deferred for the core's re-answer if it degrades and that was asked. */
  private CompletionStream answer(Job job, Engine e, Plan plan) {
    CompletionStream answer = filtered(job, execute(job, e, plan));
    if (!reanswerAsked(job)) {
      return answer;
    }
    try {
      if (plan instanceof Plan.Local local) {
        return new DeferredAnswer(answer, job, local.sampling(), deferrals);
      }
      if (plan instanceof Plan.Core core) {
        return new DeferredAnswer(answer, job, core.sampling(), deferrals);
      }
      if (plan instanceof Plan.Cascade cascade) {
        return new DeferredAnswer(answer, job, cascade.escalation().sampling(), deferrals);
      }
    } catch (RuntimeException ex) {
      answer.close();
      throw ex;
    }
    return answer;
  }

  /** Whether {@code job} asked for a re-answer: its {@code reanswer} hint, or its tenant's standing policy. */
  private boolean reanswerAsked(Job job) {
    return job.request().choices() == 1
        && (job.request().hints().containsKey(RoutingHints.REANSWER) || deferrals.always(job.tenant()));
  }

  /** A {@code reanswer} hint needs re-answers on, and one choice (a re-answer is one choice). */
  private void checkReanswer(Job job) {
    if (!job.request().hints().containsKey(RoutingHints.REANSWER)) {
      return;
    }
    if (!deferrals.enabled()) {
      throw EdgeException.invalid(RoutingHints.REANSWER, "reanswer: this edge does not keep re-answers"
          + " (reanswer.enabled is false); drop x-infermesh-reanswer (gRPC hint reanswer)");
    }
    if (job.request().choices() > 1) {
      throw EdgeException.invalid(RoutingHints.REANSWER, "reanswer: a re-answer is one choice; ask with n = 1");
    }
  }

  /** The answer through the tenant's output filter: every answer a client reads passes here. */
  private CompletionStream filtered(Job job, CompletionStream answer) {
    if (privacy == null) {
      return answer;
    }
    try {
      return privacy.filtered(job, answer);
    } catch (RuntimeException ex) {
      answer.close();
      throw ex;
    }
  }

  /** Carries out {@code plan}: the one place that turns a decision into a running request. */
  private CompletionStream execute(Job job, Engine e, Plan plan) {
    accounting.decided(plan.decision());
    if (plan instanceof Plan.FromCache hit) {
      ModelInfo model = job.model();
      metrics.request(job.request().operation().semanticName(), model.name(), plan.decision().route().wireName(),
          "none", Duration.ofNanos(ticker.read() - job.window().arrived()));
      ReplayStream replay = new ReplayStream(job.id(), model.name(), model.version(), hit.answer());
      audit.replayed(job, replay.served());
      return replay;
    }
    log.debug("request {}: route {} ({})", job.id(), plan.decision().route().wireName(), plan.decision().reason());
    if (plan instanceof Plan.Refused refused) {
      throw EdgeException.unavailable("the core is required for this request but cannot be reached ("
          + refused.decision().reason() + "); retry later");
    }
    if (plan instanceof Plan.Core core) {
      return escalations.run(job, e, core, "");
    }
    if (plan instanceof Plan.Cascade run) {
      return cascade.run(job, e, run);
    }
    return local.start(LocalGenerations.Attempt.of(job, e, (Plan.Local) plan));
  }

  /** Counts a request the transport refused before {@link #open} (malformed body, wrong content type). */
  public void rejected(EdgeException.Kind kind) {
    metrics.rejection(kind.metricName());
  }

  /** Stops admitting requests: new ones get UNAVAILABLE, and {@link #ready()} turns false. */
  public void drain() {
    ledger.drain();
  }

  /** Waits up to {@code timeout} for every admitted request to end; returns whether they did. */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    return ledger.awaitIdle(timeout);
  }

  /** Stops every admitted request; their readers receive {@code reason}. */
  public void abortAll(EdgeException reason) {
    ledger.abortAll(reason);
  }

  /**
   * Assembles a {@link CompletionService}; every part is required unless its setter says otherwise.
   * Its fields are read by the parts the service is made of (same package). Not thread-safe.
   */
  public static final class Builder {
    EdgeConfig config;
    Router router;
    ResponseCache cache;
    ApiKeys apiKeys;
    RateLimiter limiter;
    AdmissionQueue admission;
    EdgeMetrics metrics;
    Ticker ticker = Ticker.systemTicker();
    Escalator escalator = Escalator.none();
    Egress egress = Egress.NONE;
    LoadEstimate load;
    PrivacyPolicies privacyPolicies;
    PrivacyGate privacyGate;
    QuotaLedger quotas;
    LeaseWallet leases;
    JwtValidator jwt;
    AuditLog auditLog;
    Clock auditClock;
    Tracing tracing = Tracing.off();
    Deferrals deferrals = Deferrals.NONE;

    private Builder() {}

    /** Learns how long local generations take (for the router's saturation check); optional. */
    public Builder load(LoadEstimate load) {
      this.load = requireNonNull(load, "load");
      return this;
    }

    /** Where escalated requests go ({@link Escalator#none()} by default). */
    public Builder escalator(Escalator escalator) {
      this.escalator = requireNonNull(escalator, "escalator");
      return this;
    }

    /**
     * Rewrites what leaves the edge for the core, and the answer that comes back ({@link
     * Egress#NONE} by default).
     */
    public Builder egress(Egress egress) {
      this.egress = requireNonNull(egress, "egress");
      return this;
    }

    /**
     * The tenants' privacy policies (none by default): each request is screened before it is planned
     * ({@code block}, {@code local_only}) and what leaves for the core is masked, its answer restored.
     * This is the service's {@link Egress}: not with {@link #egress} too.
     */
    public Builder privacy(PrivacyPolicies policies) {
      this.privacyPolicies = requireNonNull(policies, "policies");
      return this;
    }

    /**
     * The tenants' token quotas per day and month (none by default): each planned request reserves
     * its worst case and settles what it used when it ends.
     */
    public Builder quotas(QuotaLedger quotas) {
      this.quotas = requireNonNull(quotas, "quotas");
      return this;
    }

    /**
     * The leases answers served while the core is away ({@code edge-degraded}) spend from (none by
     * default): without a lease covering it such a request is refused with 429.
     */
    public Builder leases(LeaseWallet wallet) {
      this.leases = requireNonNull(wallet, "wallet");
      return this;
    }

    /**
     * Writes one record per request decision to {@code log} ({@code audit:}), timed by {@code clock};
     * none by default.
     */
    public Builder audit(AuditLog log, Clock clock) {
      this.auditLog = requireNonNull(log, "log");
      this.auditClock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Keeps degraded answers that ask for it for the core's re-answer ({@code reanswer:}); {@link
     * Deferrals#NONE} by default (asking is then a 400).
     */
    public Builder deferrals(Deferrals deferrals) {
      this.deferrals = requireNonNull(deferrals, "deferrals");
      return this;
    }

    /** Accepts bearer JWTs beside the API keys ({@code auth.jwt}); keys only by default. */
    public Builder jwt(JwtValidator jwt) {
      this.jwt = requireNonNull(jwt, "jwt");
      return this;
    }

    /** Records a span for each step of a request ({@link Tracing#off()} by default: nothing recorded). */
    public Builder tracing(Tracing tracing) {
      this.tracing = requireNonNull(tracing, "tracing");
      return this;
    }

    public Builder config(EdgeConfig config) {
      this.config = requireNonNull(config, "config");
      return this;
    }

    public Builder router(Router router) {
      this.router = requireNonNull(router, "router");
      return this;
    }

    public Builder cache(ResponseCache cache) {
      this.cache = requireNonNull(cache, "cache");
      return this;
    }

    public Builder apiKeys(ApiKeys apiKeys) {
      this.apiKeys = requireNonNull(apiKeys, "apiKeys");
      return this;
    }

    public Builder rateLimiter(RateLimiter limiter) {
      this.limiter = requireNonNull(limiter, "limiter");
      return this;
    }

    public Builder admission(AdmissionQueue admission) {
      this.admission = requireNonNull(admission, "admission");
      return this;
    }

    public Builder metrics(EdgeMetrics metrics) {
      this.metrics = requireNonNull(metrics, "metrics");
      return this;
    }

    /** The monotonic time source for deadlines and durations (the system ticker by default). */
    public Builder ticker(Ticker ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
      return this;
    }

    public CompletionService build() {
      requireNonNull(config, "config");
      requireNonNull(router, "router");
      requireNonNull(cache, "cache");
      requireNonNull(apiKeys, "apiKeys");
      requireNonNull(limiter, "rateLimiter");
      requireNonNull(admission, "admission");
      requireNonNull(metrics, "metrics");
      if (privacyPolicies != null) {
        if (egress != Egress.NONE) {
          throw new IllegalStateException("privacy policies are the service's egress; set one or the other");
        }
        privacyGate = new PrivacyGate(privacyPolicies, config.routing().coreModels(), metrics);
        egress = privacyGate;
      }
      return new CompletionService(this);
    }
  }
}
