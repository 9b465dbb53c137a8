package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Ticker;
import io.infermesh.edge.auth.ApiKeys;
import io.infermesh.edge.auth.RateLimiter;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.cache.CacheKey;
import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.cache.ResponseCache;
import io.infermesh.edge.config.Cascade;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.Completion;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Priority;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.metrics.EdgeMetrics;
import io.infermesh.edge.route.CascadePolicy;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.route.RouteRequest;
import io.infermesh.edge.route.Router;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The request path both transports share: authentication, validation, per-tenant limits, the
 * response cache, the routing decision, bounded admission and the engine. Transports parse their
 * wire format into a {@link CompletionRequest}, call {@link #open}, and pull the {@link
 * CompletionStream}; failures before the first event are thrown as {@link EdgeException}.
 *
 * <p>Thread-safe. Everything runs on the caller's thread: {@link #open} decides synchronously, and
 * the transport thread that reads the {@link CompletionStream} waits for a slot and pulls tokens. Shutdown is {@link #drain()}, {@link #awaitIdle}, then {@link #abortAll}.
 */
public final class CompletionService {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(CompletionService.class);
  private final EdgeConfig config;
  private final Router router;
  private final ResponseCache cache;
  private final ApiKeys apiKeys;
  private final RateLimiter limiter;
  private final AdmissionQueue admission;
  private final EdgeMetrics metrics;
  private final Ticker ticker;
  private final Escalator escalator;
  private final LoadEstimate load;
  private final EmbeddingService embeddings;

  private final Set<CompletionStream> active = ConcurrentHashMap.newKeySet();
  private final Object lifecycle = new Object();
  // @GuardedBy("lifecycle") for transitions; read without the lock on the fast path
  private volatile boolean draining;
  private volatile Engine engine;

  private CompletionService(Builder b) {
    this.config = b.config;
    this.router = b.router;
    this.cache = b.cache;
    this.apiKeys = b.apiKeys;
    this.limiter = b.limiter;
    this.admission = b.admission;
    this.metrics = b.metrics;
    this.ticker = b.ticker;
    this.escalator = b.escalator;
    this.load = b.load;
    metrics.queueDepth(admission::waiting);
    this.embeddings = new EmbeddingService(config, () -> engine, escalator, this);
  }

  /** Charges {@code tokens} read by an embeddings request to {@code tenant}'s token rate. */
  void recordTokens(Tenant tenant, int tokens) {
    limiter.recordTokens(tenant, tokens);
  }

  /** The ticker's reading now, for timing an embeddings request. */
  long now() {
    return ticker.read();
  }

  /**
   * Records one embeddings request in the GenAI meters ({@code gen_ai.server.request.duration},
   * {@code gen_ai.client.token.usage}) and its route decision, as completions are.
   *
   * @param model the model that embedded, or the edge's model when the request failed before one did
   * @param errorType {@code none}, or the failure's metric name
   */
  void embeddingEnded(String model, RouteDecision route, String errorType, int promptTokens, long arrived) {
    if (route != null) {
      metrics.routeDecision(route.route().wireName(), route.reason());
    }
    metrics.request(EMBEDDINGS, model, route == null ? "none" : route.route().wireName(), errorType,
        Duration.ofNanos(ticker.read() - arrived));
    if (promptTokens > 0) {
      metrics.tokenUsage(EMBEDDINGS, model, promptTokens, 0);
    }
  }

  /** The GenAI operation name of {@code /v1/embeddings}. */
  static final String EMBEDDINGS = "embeddings";

  /** {@code /v1/embeddings} on whichever tier the request names. */
  public EmbeddingService embeddings() {
    return embeddings;
  }

  /**
   * Counts one request against {@code tenant}'s request and token rates (for endpoints that do not
   * go through {@link #open}).
   *
   * @throws EdgeException RATE_LIMITED when either is spent
   */
  void admitRequest(Tenant tenant) {
    limiter.tryAcquireRequest(tenant).ifPresent(wait -> {
      metrics.rejection(EdgeException.Kind.RATE_LIMITED.metricName());
      throw EdgeException.rateLimited("requests", "Rate limit reached for tenant '" + tenant.name() + "' ("
          + tenant.requestsPerMinute() + " requests per minute); retry after " + seconds(wait) + " s.", wait);
    });
    limiter.checkTokens(tenant).ifPresent(wait -> {
      metrics.rejection(EdgeException.Kind.RATE_LIMITED.metricName());
      throw EdgeException.rateLimited("tokens", "Token rate limit reached for tenant '" + tenant.name() + "' ("
          + tenant.tokensPerMinute() + " tokens per minute); retry after " + seconds(wait) + " s.", wait);
    });
  }

  public static Builder builder() {
    return new Builder();
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
    return engine != null && !draining;
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

  /** Requests generating or waiting now. */
  public int inFlight() {
    return active.size();
  }

  /**
   * The tenant of an {@code Authorization} header value. With no keys configured every request is
   * {@link Tenant#ANONYMOUS}.
   *
   * @throws EdgeException UNAUTHENTICATED for a missing or unknown key
   */
  public Tenant authenticate(String authorization) {
    if (!apiKeys.enabled()) {
      return Tenant.ANONYMOUS;
    }
    Optional<String> key = ApiKeys.bearerToken(authorization);
    if (key.isEmpty()) {
      metrics.rejection("unauthenticated");
      throw EdgeException.unauthenticated(null,
          "You didn't provide an API key. Send it as a bearer token: 'Authorization: Bearer YOUR_KEY'.");
    }
    return apiKeys.tenantOf(key.get()).orElseThrow(() -> {
      metrics.rejection("unauthenticated");
      return EdgeException.unauthenticated("invalid_api_key", "Incorrect API key provided.");
    });
  }

  /**
   * Starts answering {@code request} for {@code tenant}.
   *
   * @throws EdgeException when the request is refused before generation starts (invalid, unknown
   *     model, rate-limited, queue full, not ready)
   */
  public CompletionStream open(CompletionRequest request, Tenant tenant) {
    long arrived = ticker.read();
    String requestId = request.requestId().isEmpty() ? newRequestId() : request.requestId();
    String modelTag = request.model().isEmpty() ? "auto" : request.model();
    try {
      Engine e = engine;
      if (draining) {
        throw EdgeException.unavailable("the agent is shutting down; retry on another instance");
      }
      if (e == null) {
        throw EdgeException.unavailable("the model is still loading; retry shortly");
      }
      ModelInfo info = e.info();
      checkModel(request.model(), info, config.routing().coreModels(), escalator);
      RoutingHints.checkConflicts(request.hints(), request.model(), info, config.routing().coreModels());
      InputLimits.check(request, config.limits()); // before anything renders, tokenizes or copies the input
      modelTag = info.name();
      boolean chat = request.operation() == Operation.CHAT;
      if (chat) {
        RequestValidator.messages(request.messages());
      } else if (request.prompt() == null) {
        throw EdgeException.invalid("prompt", "prompt: is required");
      }
      // with a core behind it, max_tokens beyond the edge's context is the core's to judge
      SamplingParams sampling = RequestValidator.sampling(request.sampling(),
          config.escalation().enabled() ? Integer.MAX_VALUE / 2 : info.contextSize())
          .withGrammar(request.structured().gbnf());
      limiter.tryAcquireRequest(tenant).ifPresent(wait -> {
        throw EdgeException.rateLimited("requests", "Rate limit reached for tenant '" + tenant.name() + "' ("
            + tenant.requestsPerMinute() + " requests per minute); retry after " + seconds(wait) + " s.", wait);
      });
      limiter.checkTokens(tenant).ifPresent(wait -> {
        throw EdgeException.rateLimited("tokens", "Token rate limit reached for tenant '" + tenant.name() + "' ("
            + tenant.tokensPerMinute() + " tokens per minute); retry after " + seconds(wait) + " s.", wait);
      });
      boolean explicitMaxTokens = request.sampling().maxTokens() != null;
      Priority priority = RequestValidator.priority(request.hints());

      // The cache is consulted before the prompt is rendered and tokenized: a hit never touches
      // the engine. An unset max_tokens is part of the key as such (its effective value follows
      // from the prompt, which is in the key too).
      CacheKey key = null;
      boolean logprobs = request.sampling().wantsLogprobs(); // the cache keeps text only
      if (config.cache().enabled() && sampling.deterministic() && !logprobs) {
        String model = info.name() + "@" + info.sha256() + routingIntent(request);
        key = chat ? CacheKey.chat(tenant.name(), model, request.messages(), sampling, !explicitMaxTokens)
            : CacheKey.prompt(tenant.name(), model, request.prompt(), sampling, !explicitMaxTokens);
        Optional<CachedCompletion> hit = cache.get(key);
        metrics.cacheLookup(hit.isPresent());
        if (hit.isPresent()) {
          metrics.routeDecision(Route.CACHE.wireName(), RouteDecision.cacheHit().reason());
          metrics.request(request.operation().semanticName(), info.name(), Route.CACHE.wireName(), "none",
              Duration.ofNanos(ticker.read() - arrived));
          return new ReplayStream(requestId, info.name(), info.version(), hit.get());
        }
      }

      Prompt prompt = chat ? e.renderChat(request.messages()) : e.rawPrompt(request.prompt());
      RequestContext context = new RequestContext(tenant, request.operation(), info.name());
      int requestedMax = explicitMaxTokens ? sampling.maxTokens()
          : Math.max(1, Math.min(config.model().defaultMaxTokens(), info.contextSize() - prompt.tokens()));
      RouteDecision decision = router.decide(new RouteRequest(tenant.name(), modelTag(request.model()),
          request.hints(), prompt.tokens(), requestedMax, info.contextSize(), routeText(request), turns(request),
          request.timeout(), logprobs ? Optional.of("logprobs") : Optional.empty()));
      if (logprobs && decision.route() != Route.CORE && decision.route() != Route.REFUSED) {
        throw EdgeException.invalid("logprobs", "logprobs: log probabilities are computed by the core only, and this"
            + " request must stay on the edge (" + decision.reason() + "); remove logprobs or let it reach the core");
      }
      metrics.routeDecision(decision.route().wireName(), decision.reason());
      log.debug("request {}: route {} ({})", requestId, decision.route().wireName(), decision.reason());
      long timeoutNanos = request.timeout().isPresent()
          ? Math.min(config.admission().requestTimeout().toNanos(), Math.max(0, request.timeout().get().toNanos()))
          : config.admission().requestTimeout().toNanos();
      SamplingParams coreSampling = explicitMaxTokens ? sampling : sampling.withMaxTokens(requestedMax);
      switch (decision.route()) {
        case REFUSED -> throw EdgeException.unavailable("the core is required for this request but cannot be "
            + "reached (" + decision.reason() + "); retry later");
        case CORE -> {
          return toCore(new CoreRequest(e, prompt, request, tenant, requestId, coreSampling, context, arrived,
              timeoutNanos, priority), decision, "");
        }
        default -> { }
      }
      RequestValidator.logitBiasFits(sampling, e.vocabSize(), info.name()); // answered here, by this vocabulary
      sampling = RequestValidator.fitToContext(sampling, explicitMaxTokens, prompt.tokens(), info.contextSize(),
          config.model().defaultMaxTokens(), chat ? "messages" : "prompt");
      Cascade cascade = config.routing().cascade();
      // the cascade's short samples could not be constrained alike: structured answers skip it
      if (cascade.enabled() && CascadePolicy.applies(decision) && escalator.state() == CoreState.AVAILABLE
          && request.structured().isText()) {
        return cascade(cascade, new CoreRequest(e, prompt, request, tenant, requestId, coreSampling, context, arrived,
            timeoutNanos, priority), decision, sampling);
      }
      return local(e, requestId, decision, prompt, sampling, key, context, arrived, timeoutNanos, priority);
    } catch (EdgeException ex) {
      if (ex.kind() != EdgeException.Kind.UNAUTHENTICATED) {
        metrics.rejection(ex.kind().metricName());
      }
      metrics.request(request.operation().semanticName(), modelTag, "none", ex.kind().metricName(),
          Duration.ofNanos(ticker.read() - arrived));
      throw ex;
    }
  }

  /** What an escalation needs to know about its request. */
  private record CoreRequest(Engine engine, Prompt prompt, CompletionRequest request, Tenant tenant, String requestId,
      SamplingParams sampling, RequestContext context, long arrived, long timeoutNanos, Priority priority) {}

  /** Sends the request to the core ({@code localDraft}: the edge's draft, or empty). */
  private CompletionStream toCore(CoreRequest x, RouteDecision decision, String localDraft) {
    // the edge cannot continue an answer with log-probabilities, nor one that had to come from the core
    Escalator.Fallback fallback = "core".equals(x.request().hints().get("require"))
        || x.request().sampling().wantsLogprobs() ? null
        : (partial, soFar, degraded) -> continueLocally(x.engine(), x.prompt(), partial, soFar, x.sampling(), degraded,
            x.requestId(), x.context(), x.arrived(), ticker.read() + remaining(x.arrived(), x.timeoutNanos()),
            x.priority());
    // the core gets at most escalation.timeout, and never more than the request has left
    Duration coreTimeout = Duration.ofNanos(Math.min(remaining(x.arrived(), x.timeoutNanos()),
        config.escalation().timeout().toNanos()));
    Escalator.Call call = new Escalator.Call(x.requestId(), x.request(), x.tenant(), decision, x.sampling(),
        coreTimeout, fallback, localDraft);
    return track(escalator.escalate(call), x.context(), x.arrived());
  }

  /** Admits a local generation (or throws: queue full, draining). */
  private GenerationTask local(Engine e, String requestId, RouteDecision decision, Prompt prompt,
      SamplingParams sampling, CacheKey key, RequestContext context, long arrived, long timeoutNanos,
      Priority priority) {
    AdmissionQueue.Ticket ticket = admission.tryEnter(priority);
    if (ticket == null) {
      Duration retry = config.admission().retryAfter();
      throw EdgeException.queueFull("The server is busy: " + admission.slots() + " requests are generating and "
          + admission.depth() + " are waiting. Retry after " + seconds(retry) + " s.", retry);
    }
    GenerationTask task = new GenerationTask(this, e, ticker, ticket, requestId, decision, prompt, sampling, key,
        context, arrived, arrived + timeoutNanos);
    synchronized (lifecycle) {
      if (draining) {
        ticket.close();
        throw EdgeException.unavailable("the agent is shutting down; retry on another instance");
      }
      active.add(task);
    }
    return task;
  }

  /**
   * The cascade (routing.cascade): the local draft, then {@code samples} short samples whose
   * agreement {@link CascadePolicy} judges; a kept draft is replayed ({@code edge}, {@code
   * cascade-accepted}), a weak one escalates with the draft attached ({@code core}, {@code
   * cascade-rejected}). Runs on the caller's thread, one generation after another.
   */
  private CompletionStream cascade(Cascade cascade, CoreRequest x, RouteDecision decision, SamplingParams sampling) {
    try {
      StringBuilder draft = new StringBuilder();
      StreamEvent.Done done = readWhole(local(x.engine(), x.requestId(), decision, x.prompt(), sampling, null,
          x.context(), x.arrived(), x.timeoutNanos(), x.priority()), draft);
      List<String> samples = new ArrayList<>();
      for (int i = 0; i < cascade.samples(); i++) {
        // fixed seeds: the same request gets the same judgement
        SamplingParams sampleParams = new SamplingParams(Math.min(cascade.sampleMaxTokens(), sampling.maxTokens()),
            (float) cascade.temperature(), sampling.topP(), sampling.topK(), OptionalLong.of(i + 1L), sampling.stop());
        StringBuilder sample = new StringBuilder();
        readWhole(local(x.engine(), x.requestId(), decision, x.prompt(), sampleParams, null, x.context(), x.arrived(),
            x.timeoutNanos(), x.priority()), sample);
        samples.add(sample.toString());
      }
      RouteDecision verdict = CascadePolicy.of(cascade.minAgreement()).judge(samples);
      metrics.routeDecision(verdict.route().wireName(), verdict.reason());
      log.debug("request {}: cascade {} (agreement {})", x.requestId(), verdict.reason(),
          CascadePolicy.agreement(samples));
      if (verdict.route() == Route.CORE) {
        return toCore(x, verdict, draft.toString());
      }
      ModelInfo info = x.engine().info();
      Usage u = done.usage();
      return new ReplayStream(new Served(x.requestId(), verdict, info.name(), info.version()),
          CachedCompletion.of(draft.length() == 0 ? List.of() : List.of(draft.toString()), done.finishReason(),
              u.promptTokens(), u.completionTokens()), u.cachedTokens());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw EdgeException.cancelled("interrupted while checking the local draft");
    }
  }

  /** Reads a local generation to its end; throws its failure. */
  private static StreamEvent.Done readWhole(CompletionStream stream, StringBuilder text) throws InterruptedException {
    try (stream) {
      StreamEvent end = stream.readRest(text);
      if (end instanceof StreamEvent.Failed failed) {
        throw failed.error();
      }
      return (StreamEvent.Done) end;
    }
  }

  private long remaining(long arrived, long timeoutNanos) {
    return Math.max(1, arrived + timeoutNanos - ticker.read());
  }

  /** The local continuation of an escalated answer after the core failed. */
  private CompletionStream continueLocally(Engine e, Prompt prompt, String partial, int soFar, SamplingParams sampling,
      RouteDecision degraded, String requestId, RequestContext context, long arrived, long deadline, Priority priority) {
    if (!partial.isEmpty() && sampling.grammar().isPresent()) {
      throw EdgeException.unavailable("the core failed mid-answer; a constrained answer cannot be continued on the "
          + "edge from the middle, retry");
    }
    Prompt continued = partial.isEmpty() ? prompt : e.rawPrompt(prompt.text() + partial);
    int room = e.info().contextSize() - continued.tokens();
    int left = sampling.maxTokens() - soFar;
    if (left < 1) {
      left = 1;
    }
    if (room < 1) {
      throw EdgeException.unavailable("the core failed and the answer so far does not fit the edge's context");
    }
    metrics.routeDecision(degraded.route().wireName(), degraded.reason());
    AdmissionQueue.Ticket ticket = admission.tryEnter(priority);
    if (ticket == null) {
      throw EdgeException.queueFull("the core failed and the edge is busy; retry", config.admission().retryAfter());
    }
    GenerationTask task = new GenerationTask(this, e, ticker, ticket, requestId, degraded, continued,
        sampling.withMaxTokens(Math.min(left, room)), null, context, arrived, deadline);
    active.add(task);
    return task;
  }

  /** Tracks an escalated stream in the active set (for drain) and records its end in the metrics. */
  private CompletionStream track(CompletionStream stream, RequestContext context, long arrived) {
    TrackedStream tracked = new TrackedStream(stream, this, context, arrived);
    synchronized (lifecycle) {
      if (draining) {
        stream.close();
        throw EdgeException.unavailable("the agent is shutting down; retry on another instance");
      }
      active.add(tracked);
    }
    return tracked;
  }

  void escalationEnded(CompletionStream stream, RequestContext ctx, String route, String errorType, Usage usage,
      long arrived) {
    if (usage != null) {
      limiter.recordTokens(ctx.tenant(), usage.totalTokens());
    }
    metrics.request(ctx.operation().semanticName(), ctx.model(), route, errorType,
        Duration.ofNanos(ticker.read() - arrived));
    synchronized (lifecycle) {
      active.remove(stream);
      lifecycle.notifyAll();
    }
  }

  /** The text a difficulty scorer reads: the chat's contents, or the raw prompt. */
  private static String routeText(CompletionRequest request) {
    if (request.operation() != Operation.CHAT) {
      return request.prompt();
    }
    StringBuilder b = new StringBuilder();
    for (var m : request.messages()) {
      if (b.length() > 0) {
        b.append('\n');
      }
      b.append(m.content());
    }
    return b.toString();
  }

  private static int turns(CompletionRequest request) {
    return request.operation() == Operation.CHAT ? request.messages().size() : 1;
  }

  /**
   * What the caller asked of routing, as part of the cache key: an answer the edge cached for
   * {@code auto} must not be replayed to a caller who asked for {@code core} or required it.
   */
  private static String routingIntent(CompletionRequest request) {
    return "|" + modelTag(request.model()) + "|require=" + request.hints().getOrDefault("require", "")
        + "|privacy=" + request.hints().getOrDefault("privacy", "");
  }

  private static String modelTag(String model) {
    return model.isEmpty() ? "auto" : model;
  }

  /** Accepts the aliases, the edge's model and the core's (asking the core only for a name not known yet). */
  private static void checkModel(String requested, ModelInfo info, List<String> coreModels, Escalator escalator) {
    switch (requested) {
      case "", "auto", "edge", "core" -> {
        return;
      }
      default -> {
        if (requested.equals(info.name()) || coreModels.contains(requested)
            || escalator.coreModelNames().contains(requested)
            || escalator.coreModels().stream().anyMatch(m -> m.name().equals(requested))) {
          return;
        }
      }
    }
    throw EdgeException.modelNotFound("model: the model '" + RoutingHints.echo(requested) // never echo unbounded input
        + "' does not exist or is not served here; available: " + info.name() + " (aliases: auto, edge)");
  }

  /** Counts a request the transport refused before {@link #open} (malformed body, wrong content type). */
  public void rejected(EdgeException.Kind kind) {
    metrics.rejection(kind.metricName());
  }

  /** Stops admitting requests: new ones get UNAVAILABLE, and {@link #ready()} turns false. */
  public void drain() {
    synchronized (lifecycle) {
      draining = true;
    }
  }

  /** Waits up to {@code timeout} for every admitted request to end; returns whether they did. */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lifecycle) {
      while (!active.isEmpty()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(lifecycle, left);
      }
      return true;
    }
  }

  /** Stops every admitted request; their readers receive {@code reason}. */
  public void abortAll(EdgeException reason) {
    for (CompletionStream stream : List.copyOf(active)) {
      if (stream instanceof GenerationTask task) {
        task.abort(reason);
      } else if (stream instanceof TrackedStream tracked) {
        tracked.abort();
      }
    }
  }

  // ---- callbacks from GenerationTask ----

  void finished(RequestContext ctx, Completion completion, Usage usage, long arrived, long firstTokenAt,
      long endedAt) {
    String op = ctx.operation().semanticName();
    if (firstTokenAt != 0) {
      metrics.timeToFirstToken(op, ctx.model(), Duration.ofNanos(firstTokenAt - arrived));
      if (completion.completionTokens() > 1) {
        metrics.timePerOutputToken(op, ctx.model(),
            Duration.ofNanos((endedAt - firstTokenAt) / (completion.completionTokens() - 1)));
      }
    }
    metrics.tokenUsage(op, ctx.model(), usage.promptTokens(), usage.completionTokens());
    if (load != null && firstTokenAt != 0) {
      load.record(endedAt - firstTokenAt);
    }
    limiter.recordTokens(ctx.tenant(), usage.totalTokens());
  }

  void remember(CacheKey key, CachedCompletion value) {
    cache.put(key, value);
  }

  void released(GenerationTask task, RequestContext ctx, String errorType, long arrived) {
    metrics.request(ctx.operation().semanticName(), ctx.model(), Route.EDGE.wireName(), errorType,
        Duration.ofNanos(ticker.read() - arrived));
    synchronized (lifecycle) {
      active.remove(task);
      lifecycle.notifyAll();
    }
  }

  private static String newRequestId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return "req-" + Long.toHexString(random.nextLong() | Long.MIN_VALUE) + Long.toHexString(random.nextLong() | Long.MIN_VALUE);
  }

  private static long seconds(Duration d) {
    return Math.max(1, (d.toMillis() + 999) / 1000);
  }

  /** Assembles a {@link CompletionService}; every part is required. Not thread-safe. */
  public static final class Builder {
    private EdgeConfig config;
    private Router router;
    private ResponseCache cache;
    private ApiKeys apiKeys;
    private RateLimiter limiter;
    private AdmissionQueue admission;
    private EdgeMetrics metrics;
    private Ticker ticker = Ticker.systemTicker();
    private Escalator escalator = Escalator.none();
    private LoadEstimate load;

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
      return new CompletionService(this);
    }
  }
}
