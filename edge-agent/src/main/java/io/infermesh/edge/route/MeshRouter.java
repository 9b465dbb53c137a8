package io.infermesh.edge.route;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The router of an edge agent with a core to escalate to. Rules, in order:
 *
 * <ol>
 *   <li>Privacy: the {@code privacy: local-only} hint, or a tenant marked local-only, stays on the
 *       edge ({@code privacy-local-only}, {@code tenant-local-only}) whatever else is asked.
 *   <li>The {@code edge} alias stays local ({@code alias-edge}).
 *   <li>A feature only the core serves ({@link RouteRequest#coreOnlyFeature()}, e.g. log-probabilities)
 *       goes to the core ({@code <feature>-core-only}, e.g. {@code logprobs-core-only}); when the core
 *       cannot be used it is {@link Route#REFUSED} ({@code <feature>-core-unavailable}), never degraded,
 *       since the edge cannot give what was asked. (Requests pinned to the edge by the rules above are
 *       refused by the caller, who can name the field.)
 *   <li>Hard reasons for the core: the {@code core} alias ({@code alias-core}), a model only the
 *       core serves ({@code model-core-only}), the caller's {@code require: core} ({@code
 *       require-core}), or prompt + max_tokens beyond the edge's context ({@code
 *       exceeds-edge-context}).
 *   <li>Edge saturated: the estimated queue wait is over the request's budget ({@code
 *       edge-saturated}).
 *   <li>Difficulty: the scorer's score at or over the threshold ({@code difficulty-high}); else
 *       the edge ({@code difficulty-low}).
 * </ol>
 *
 * Whenever the core would be chosen but cannot be used ({@link CoreState}), the request is served
 * locally as {@code edge-degraded} with the state's reason ({@code core-unreachable}, {@code
 * circuit-open}, {@code no-core}) — unless the caller required the core, then it is {@link
 * Route#REFUSED} ({@code core-required-unavailable}), or it cannot fit the edge's context ({@code
 * exceeds-edge-context-core-unavailable}).
 *
 * <p>Policy only: no transport types. Thread-safe when its parts are.
 */
public final class MeshRouter implements Router {
  private final Set<String> coreModels;
  private final Supplier<Set<String>> listedCoreModels;
  private final Set<String> localOnlyTenants;
  private final DifficultyScorer scorer;
  private final Threshold threshold;
  private final Supplier<CoreState> core;
  private final EdgeLoad load;
  private final Duration defaultBudget;

  private MeshRouter(Builder b) {
    this.coreModels = Set.copyOf(b.coreModels);
    this.listedCoreModels = b.listedCoreModels;
    this.localOnlyTenants = Set.copyOf(b.localOnlyTenants);
    this.scorer = b.scorer;
    this.threshold = b.threshold;
    this.core = b.core;
    this.load = b.load;
    this.defaultBudget = b.defaultBudget;
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public RouteDecision decide(RouteRequest r) {
    if (r.localOnlyHint()) {
      return edge("privacy-local-only");
    }
    if (localOnlyTenants.contains(r.tenant())) {
      return edge("tenant-local-only");
    }
    String model = r.model();
    if (model.equals("edge")) {
      return edge("alias-edge");
    }
    if (r.coreOnlyFeature().isPresent()) {
      String feature = r.coreOnlyFeature().get();
      return core.get() == CoreState.AVAILABLE ? new RouteDecision(Route.CORE, feature + "-core-only")
          : new RouteDecision(Route.REFUSED, feature + "-core-unavailable");
    }
    boolean fitsEdge = (long) r.promptTokens() + r.maxTokens() <= r.localContextSize();
    if (model.equals("core")) {
      return toCore(r, "alias-core", fitsEdge);
    }
    if (coreModels.contains(model) || listedCoreModels.get().contains(model)) {
      return toCore(r, "model-core-only", fitsEdge);
    }
    if (r.requiresCore()) {
      return toCore(r, "require-core", fitsEdge);
    }
    if (!fitsEdge) {
      return toCore(r, "exceeds-edge-context", false);
    }
    Duration budget = r.budget().orElse(defaultBudget);
    if (load.estimatedWait().compareTo(budget) > 0 && core.get() == CoreState.AVAILABLE) {
      return new RouteDecision(Route.CORE, "edge-saturated");
    }
    if (threshold.escalate(scorer.score(r))) {
      return toCore(r, "difficulty-high", true);
    }
    return edge("difficulty-low");
  }

  private RouteDecision toCore(RouteRequest r, String reason, boolean fitsEdge) {
    CoreState state = core.get();
    if (state == CoreState.AVAILABLE) {
      return new RouteDecision(Route.CORE, reason);
    }
    if (r.requiresCore()) {
      return new RouteDecision(Route.REFUSED, "core-required-unavailable");
    }
    if (!fitsEdge) {
      return new RouteDecision(Route.REFUSED, "exceeds-edge-context-core-unavailable");
    }
    return new RouteDecision(Route.EDGE_DEGRADED, state.reason());
  }

  private static RouteDecision edge(String reason) {
    return new RouteDecision(Route.EDGE, reason);
  }

  @Override
  public String toString() {
    return "MeshRouter{scorer=" + scorer + ", threshold=" + threshold + "}";
  }

  /** Assembles a {@link MeshRouter}. Not thread-safe. */
  public static final class Builder {
    private Set<String> coreModels = Set.of();
    private Supplier<Set<String>> listedCoreModels = Set::of;
    private Set<String> localOnlyTenants = Set.of();
    private DifficultyScorer scorer = FeatureScorer.defaults();
    private Threshold threshold = Threshold.fixed(0.5);
    private Supplier<CoreState> core = () -> CoreState.NOT_CONFIGURED;
    private EdgeLoad load = EdgeLoad.idle();
    private Duration defaultBudget = Duration.ofSeconds(30);

    private Builder() {}

    /** Model names only the core serves (requests for them escalate). */
    public Builder coreModels(Set<String> names) {
      this.coreModels = requireNonNull(names, "names");
      return this;
    }

    /**
     * The models the core says it serves (its {@code ListModels}, as last known; the supplier must
     * not block); requests for them escalate like {@link #coreModels}. None by default.
     */
    public Builder listedCoreModels(Supplier<Set<String>> names) {
      this.listedCoreModels = requireNonNull(names, "names");
      return this;
    }

    /** Tenants whose requests never leave this device. */
    public Builder localOnlyTenants(Set<String> tenants) {
      this.localOnlyTenants = requireNonNull(tenants, "tenants");
      return this;
    }

    /** The difficulty scorer ({@link FeatureScorer#defaults()} by default). */
    public Builder scorer(DifficultyScorer scorer) {
      this.scorer = requireNonNull(scorer, "scorer");
      return this;
    }

    /** The difficulty threshold (fixed 0.5 by default). */
    public Builder threshold(Threshold threshold) {
      this.threshold = requireNonNull(threshold, "threshold");
      return this;
    }

    /** Where the core's state comes from (the escalation client); {@code no-core} by default. */
    public Builder core(Supplier<CoreState> core) {
      this.core = requireNonNull(core, "core");
      return this;
    }

    /** The edge's queue-wait estimate (always idle by default). */
    public Builder load(EdgeLoad load) {
      this.load = requireNonNull(load, "load");
      return this;
    }

    /** The latency budget of a request that states none (30 s by default). */
    public Builder defaultBudget(Duration budget) {
      requireNonNull(budget, "budget");
      if (budget.isNegative()) {
        throw new IllegalArgumentException("default budget must not be negative, got " + budget);
      }
      this.defaultBudget = budget;
      return this;
    }

    public MeshRouter build() {
      return new MeshRouter(this);
    }
  }
}
