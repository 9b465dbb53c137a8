package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.cache.CacheKey;
import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.config.Cascade;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.CascadePolicy;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.route.RouteRequest;
import io.infermesh.edge.route.Router;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Decides what the edge does with an accepted {@link Job}, as a {@link Plan}. In order:
 *
 * <ol>
 *   <li>Cache: a deterministic request without log-probabilities, with the cache on, is looked up
 *       before its prompt is rendered (a hit never touches the engine): {@link Plan.FromCache}. The
 *       key holds the tenant, the model and its digest, what the caller asked of routing ({@code
 *       auto} must not be replayed to a caller who asked for {@code core}), the input and the
 *       sampling, an unset {@code max_tokens} as such.
 *   <li>Route: a request whose tenant's privacy policy found {@code local_only} data stays on the
 *       edge ({@value #POLICY_LOCAL_ONLY}); otherwise the {@link Router} decides over the rendered prompt's length, the completion budget
 *       (as asked, or the edge's default capped by the room left), the text and the budget.
 *       Log-probabilities pinned to the edge by a hard rule are refused (400 {@code logprobs}).
 *   <li>{@code refused}: {@link Plan.Refused}. {@code core}: {@link Plan.Core}, {@code max_tokens}
 *       left for the core to judge.
 *   <li>Otherwise the edge answers: {@code logit_bias} must fit its vocabulary and prompt +
 *       {@code max_tokens} its context (400 naming the field). A request the router left here for
 *       low difficulty, while the core is reachable and the answer is free text, runs the {@link
 *       Plan.Cascade} (fixed sample seeds: the same request gets the same judgement); else {@link
 *       Plan.Local}, stored in the cache under the key of step 1.
 * </ol>
 *
 * <p>And, when an escalated answer fails at the core, how the edge finishes it ({@link #resume}).
 *
 * <p>Policy only: no transport, no engine (the prompt and the cache come through {@link Facts}), no
 * clock. Thread-safe when its router and core state are.
 */
final class RequestPlanner {
  /** The reason of a request its tenant's privacy policy keeps on the edge ({@code local_only}). */
  static final String POLICY_LOCAL_ONLY = "policy-local-only";

  private final Router router;
  private final Supplier<CoreState> core;
  private final boolean cache;
  private final Cascade cascade;
  private final int defaultMaxTokens;

  private RequestPlanner(Builder b) {
    this.router = b.router;
    this.core = b.core;
    this.cache = b.cache;
    this.cascade = b.cascade;
    this.defaultMaxTokens = b.defaultMaxTokens;
  }

  static Builder builder() {
    return new Builder();
  }

  /**
   * What the planner asks about a request's surroundings, each only when it needs the answer.
   * Called on the request's thread, within {@link #plan}.
   */
  interface Facts {
    /** The cached answer under {@code key}, if any. */
    Optional<CachedCompletion> cached(CacheKey key);

    /** The request rendered for the edge's model (chat template, or the raw prompt), with its length. */
    Prompt prompt();

    /** Tokens in the edge model's vocabulary. */
    int vocabSize();
  }

  /**
   * The plan for {@code job}.
   *
   * @throws EdgeException INVALID_ARGUMENT when the request cannot be answered where it must be
   *     (log-probabilities on the edge, a prompt or {@code max_tokens} beyond the edge's context, a
   *     {@code logit_bias} id beyond its vocabulary)
   */
  Plan plan(Job job, Facts facts) {
    Optional<CacheKey> key = cacheKey(job);
    if (key.isPresent()) {
      Optional<CachedCompletion> hit = facts.cached(key.get());
      if (hit.isPresent()) {
        return new Plan.FromCache(hit.get());
      }
    }
    ModelInfo model = job.model();
    Prompt prompt = facts.prompt();
    SamplingParams sampling = job.sampling();
    int requestedMax = job.explicitMaxTokens() ? sampling.maxTokens()
        : Math.max(1, Math.min(defaultMaxTokens, model.contextSize() - prompt.tokens()));
    boolean logprobs = job.request().sampling().wantsLogprobs();
    // a local_only match of the tenant's privacy policy keeps it here, whatever the router would say
    RouteDecision decision = job.screening().localOnly() ? new RouteDecision(Route.EDGE, POLICY_LOCAL_ONLY)
        : router.decide(routeRequest(job, prompt.tokens(), requestedMax));
    if (logprobs && decision.route() != Route.CORE && decision.route() != Route.REFUSED) {
      throw EdgeException.invalid("logprobs", "logprobs: log probabilities are computed by the core only, and this"
          + " request must stay on the edge (" + decision.reason() + "); remove logprobs or let it reach the core");
    }
    SamplingParams coreSampling = job.explicitMaxTokens() ? sampling : sampling.withMaxTokens(requestedMax);
    if (decision.route() == Route.REFUSED) {
      return new Plan.Refused(decision);
    }
    if (decision.route() == Route.CORE) {
      return new Plan.Core(decision, prompt, coreSampling, job.continuable());
    }
    RequestValidator.logitBiasFits(sampling, facts.vocabSize(), model.name()); // answered here, by this vocabulary
    SamplingParams local = fitToContext(job, prompt.tokens());
    // the cascade's short samples could not be constrained alike: structured answers skip it
    if (cascade.enabled() && CascadePolicy.applies(decision) && job.request().structured().isText()
        && core.get() == CoreState.AVAILABLE) {
      return cascade(job, new Plan.Local(decision, prompt, local, Optional.empty()), coreSampling);
    }
    return new Plan.Local(decision, prompt, local, key);
  }

  /**
   * {@code job}'s sampling with the completion budget fitted to the edge's context: refuses a prompt
   * that leaves no room (naming {@code messages} or {@code prompt}), refuses an explicit {@code
   * max_tokens} that does not fit, and caps the default.
   */
  private SamplingParams fitToContext(Job job, int promptTokens) {
    int contextSize = job.model().contextSize();
    String input = job.inputParam();
    if (promptTokens >= contextSize) {
      throw EdgeException.invalid(input, "context_length_exceeded", input + ": the prompt is " + promptTokens
          + " tokens long, but this model's context length is " + contextSize
          + " tokens (prompt and completion together); shorten the " + input);
    }
    int room = contextSize - promptTokens;
    SamplingParams sampling = job.sampling();
    if (!job.explicitMaxTokens()) {
      return sampling.withMaxTokens(Math.min(defaultMaxTokens, room));
    }
    if (sampling.maxTokens() > room) {
      throw EdgeException.invalid("max_tokens", "context_length_exceeded", "max_tokens: the prompt ("
          + promptTokens + " tokens) plus max_tokens (" + sampling.maxTokens() + ") exceeds this model's context"
          + " length of " + contextSize + " tokens; lower max_tokens to at most " + room);
    }
    return sampling;
  }

  private Plan.Cascade cascade(Job job, Plan.Local draft, SamplingParams coreSampling) {
    SamplingParams s = draft.sampling();
    List<SamplingParams> samples = new ArrayList<>(cascade.samples());
    for (int i = 0; i < cascade.samples(); i++) {
      samples.add(new SamplingParams(Math.min(cascade.sampleMaxTokens(), s.maxTokens()), (float) cascade.temperature(),
          s.topP(), s.topK(), OptionalLong.of(i + 1L), s.stop()));
    }
    Plan.Core escalation = new Plan.Core(new RouteDecision(Route.CORE, CascadePolicy.REJECTED), draft.prompt(),
        coreSampling, job.continuable());
    return new Plan.Cascade(draft, samples, CascadePolicy.of(cascade.minAgreement()), escalation);
  }

  /** The cache key of {@code job}, or empty when its answer must not be cached. */
  Optional<CacheKey> cacheKey(Job job) {
    SamplingParams sampling = job.sampling();
    // the cache keeps text only: an answer with log-probabilities is never stored
    if (!cache || !sampling.deterministic() || job.request().sampling().wantsLogprobs()) {
      return Optional.empty();
    }
    CompletionRequest r = job.request();
    // the version label too: an answer is never replayed as another version's, even of the same file
    String model = job.model().name() + "@" + job.model().sha256() + "@" + job.model().version() + routingIntent(r);
    boolean defaultMax = !job.explicitMaxTokens();
    return Optional.of(job.chat() ? CacheKey.chat(job.tenant().name(), model, r.messages(), sampling, defaultMax)
        : CacheKey.prompt(job.tenant().name(), model, r.prompt(), sampling, defaultMax));
  }

  /**
   * How the edge finishes {@code core}'s answer after the core failed: from the text so far (a
   * constrained answer cannot restart its grammar midway), with what is left of {@code max_tokens}
   * (at least one) within the room the context leaves.
   *
   * @param raw renders a raw prompt (the original prompt followed by the text so far)
   * @throws EdgeException UNAVAILABLE when the edge cannot continue it
   */
  static Plan.Local resume(Job job, Plan.Core core, Interruption at, Function<String, Prompt> raw) {
    SamplingParams sampling = core.sampling();
    if (!at.partial().isEmpty() && sampling.grammar().isPresent()) {
      throw EdgeException.unavailable("the core failed mid-answer; a constrained answer cannot be continued on the "
          + "edge from the middle, retry");
    }
    if (!at.partial().isEmpty() && !core.prompt().chat().isEmpty()) {
      throw EdgeException.unavailable("the core failed mid-answer; this edge's local tier is an upstream server that"
          + " renders chats itself, so it cannot continue one from the middle, retry");
    }
    Prompt continued = at.partial().isEmpty() ? core.prompt() : raw.apply(core.prompt().text() + at.partial());
    int room = job.model().contextSize() - continued.tokens();
    int left = Math.max(1, sampling.maxTokens() - at.tokensSoFar());
    if (room < 1) {
      throw EdgeException.unavailable("the core failed and the answer so far does not fit the edge's context");
    }
    return new Plan.Local(at.degraded(), continued, sampling.withMaxTokens(Math.min(left, room)), Optional.empty());
  }

  /**
   * Where the core stopped.
   *
   * @param partial the answer's text so far
   * @param tokensSoFar tokens the core produced (taken off {@code max_tokens})
   * @param degraded the decision the rest is served as ({@code edge-degraded}, with why)
   */
  record Interruption(String partial, int tokensSoFar, RouteDecision degraded) {
    Interruption {
      requireNonNull(partial, "partial");
      requireNonNull(degraded, "degraded");
    }
  }

  /** What the router reads about {@code job}. */
  private static RouteRequest routeRequest(Job job, int promptTokens, int maxTokens) {
    CompletionRequest r = job.request();
    return new RouteRequest(job.tenant().name(), modelTag(r.model()), r.hints(), promptTokens, maxTokens,
        job.model().contextSize(), routeText(r), job.chat() ? r.messages().size() : 1, r.timeout(),
        r.sampling().wantsLogprobs() ? Optional.of("logprobs") : Optional.empty());
  }

  /** The text a difficulty scorer reads: the chat's contents, or the raw prompt. */
  static String routeText(CompletionRequest request) {
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

  /**
   * What the caller asked of routing, as part of the cache key: an answer the edge cached for
   * {@code auto} must not be replayed to a caller who asked for {@code core} or required it.
   */
  private static String routingIntent(CompletionRequest request) {
    return "|" + modelTag(request.model()) + "|require=" + request.hints().getOrDefault(RoutingHints.REQUIRE, "")
        + "|privacy=" + request.hints().getOrDefault(RoutingHints.PRIVACY, "");
  }

  /** The model as the router and the metrics name it: {@code auto} when unset. */
  static String modelTag(String model) {
    return model.isEmpty() ? "auto" : model;
  }

  @Override
  public String toString() {
    return "RequestPlanner{router=" + router + ", cache=" + cache + ", cascade=" + cascade.enabled() + "}";
  }

  /** Assembles a {@link RequestPlanner}; a router is required. Not thread-safe. */
  static final class Builder {
    private Router router;
    private Supplier<CoreState> core = () -> CoreState.NOT_CONFIGURED;
    private boolean cache;
    private Cascade cascade = Cascade.DISABLED;
    private int defaultMaxTokens = 256;

    private Builder() {}

    /** Where requests go. */
    Builder router(Router router) {
      this.router = requireNonNull(router, "router");
      return this;
    }

    /** Whether the core can take a request now (read only for the cascade); {@code no-core} by default. */
    Builder core(Supplier<CoreState> core) {
      this.core = requireNonNull(core, "core");
      return this;
    }

    /** Whether answers are cached ({@code cache.enabled}); off by default. */
    Builder cache(boolean enabled) {
      this.cache = enabled;
      return this;
    }

    /** The cascade ({@code routing.cascade}); off by default. */
    Builder cascade(Cascade cascade) {
      this.cascade = requireNonNull(cascade, "cascade");
      return this;
    }

    /** {@code max_tokens} of a request that sets none ({@code model.default_max_tokens}), capped by the room left. */
    Builder defaultMaxTokens(int tokens) {
      if (tokens < 1) {
        throw new IllegalArgumentException("default max tokens must be at least 1, got " + tokens);
      }
      this.defaultMaxTokens = tokens;
      return this;
    }

    RequestPlanner build() {
      requireNonNull(router, "router");
      return new RequestPlanner(this);
    }
  }
}
