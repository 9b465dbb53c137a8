package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.cache.CacheKey;
import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.CascadePolicy;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import java.util.List;
import java.util.Optional;

/**
 * What the edge does with one request, as the {@link RequestPlanner} decided it: replay a cached
 * answer, generate locally, escalate to the core, run the cascade, or refuse — each with the
 * {@link RouteDecision} (route and reason) the client is told. A value: deciding has no effects,
 * and the executors ({@link LocalGenerations}, {@link Escalations}, {@link CascadeRun}) carry it
 * out. Immutable.
 */
sealed interface Plan {
  /** Where the request goes and why, as {@code x-infermesh-route} / {@code x-infermesh-reason} say. */
  RouteDecision decision();

  /** Replay {@code answer} from the response cache; the engine is never touched. */
  record FromCache(CachedCompletion answer) implements Plan {
    public FromCache {
      requireNonNull(answer, "answer");
    }

    @Override
    public RouteDecision decision() {
      return RouteDecision.cacheHit();
    }
  }

  /** Refuse with UNAVAILABLE naming the reason: the core was required and cannot be reached. */
  record Refused(RouteDecision decision) implements Plan {
    public Refused {
      requireNonNull(decision, "decision");
      if (decision.route() != Route.REFUSED) {
        throw new IllegalArgumentException("a refusal needs a refused decision, got " + decision);
      }
    }
  }

  /**
   * Generate on the edge's engine.
   *
   * @param prompt the rendered prompt
   * @param sampling the sampling controls, {@code max_tokens} fitted to the context
   * @param storeAs the cache key the finished answer is stored under, if it may be cached
   */
  record Local(RouteDecision decision, Prompt prompt, SamplingParams sampling, Optional<CacheKey> storeAs)
      implements Plan {
    public Local {
      requireNonNull(decision, "decision");
      requireNonNull(prompt, "prompt");
      requireNonNull(sampling, "sampling");
      requireNonNull(storeAs, "storeAs");
    }
  }

  /**
   * Escalate to the core.
   *
   * @param prompt the edge's rendering of the request, from which the edge continues if the core fails
   * @param sampling the sampling controls sent to the core ({@code max_tokens} as asked, or the edge's default)
   * @param continuable whether the edge may finish the answer if the core fails
   */
  record Core(RouteDecision decision, Prompt prompt, SamplingParams sampling, boolean continuable) implements Plan {
    public Core {
      requireNonNull(decision, "decision");
      requireNonNull(prompt, "prompt");
      requireNonNull(sampling, "sampling");
    }

    /** This escalation, told to the client (and the core) as {@code verdict}. */
    Core as(RouteDecision verdict) {
      return new Core(verdict, prompt, sampling, continuable);
    }
  }

  /**
   * The cascade: generate {@code draft}, then one short sample per entry of {@code samples} (same
   * prompt); {@code policy} judges their agreement. A kept draft is the answer ({@code
   * cascade-accepted}); a weak one escalates as {@code escalation} with the draft attached ({@code
   * cascade-rejected}).
   */
  record Cascade(Local draft, List<SamplingParams> samples, CascadePolicy policy, Core escalation) implements Plan {
    public Cascade {
      requireNonNull(draft, "draft");
      samples = List.copyOf(samples);
      requireNonNull(policy, "policy");
      requireNonNull(escalation, "escalation");
    }

    @Override
    public RouteDecision decision() {
      return draft.decision();
    }
  }
}
