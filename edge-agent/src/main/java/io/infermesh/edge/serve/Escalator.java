package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.RouteDecision;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Sends a request to the core and streams the answer back as a {@link CompletionStream}. The
 * implementation ({@code io.infermesh.edge.escalate.CoreClient}) owns the transport; this service
 * only says what to send and how to finish locally if the core fails. Thread-safe.
 */
public interface Escalator {
  /** Whether the core can take a request now. */
  CoreState state();

  /**
   * The models the core answers for, refreshed if stale (may wait briefly for the core); empty when
   * unknown or there is no core.
   */
  default List<RemoteModel> coreModels() {
    return List.of();
  }

  /** The names of the core's models as last known; never waits. */
  default Set<String> coreModelNames() {
    return Set.of();
  }

  /**
   * Starts {@code call}. Never throws for transport failures: they arrive as events (or, when the
   * call allows it, as a local continuation through {@link Call#fallback}).
   */
  CompletionStream escalate(Call call);

  /**
   * Embeds {@code call.inputs()} on the core ({@code Inference.Embed}), waiting at most its timeout.
   *
   * @throws EdgeException mapped from the core's status, or UNAVAILABLE when there is no core
   */
  default EmbedResult embed(EmbedCall call) {
    throw EdgeException.unavailable("no core is configured for this agent");
  }

  /** One embeddings request for the core. */
  record EmbedCall(String requestId, Tenant tenant, String model, List<String> inputs, Duration timeout) {
    public EmbedCall {
      requireNonNull(requestId, "requestId");
      requireNonNull(tenant, "tenant");
      requireNonNull(model, "model");
      inputs = List.copyOf(inputs);
      requireNonNull(timeout, "timeout");
    }
  }

  /** The core's vectors (in input order), the tokens it read and the model that computed them. */
  record EmbedResult(List<float[]> vectors, int promptTokens, String model) {
    public EmbedResult {
      vectors = List.copyOf(vectors);
      requireNonNull(model, "model");
    }
  }

  /** Continues an answer locally from the text the core produced so far. */
  @FunctionalInterface
  interface Fallback {
    /**
     * A local stream that continues after {@code partial}, served as {@code decision}.
     *
     * @param completionTokensSoFar tokens the core already produced (subtracted from max_tokens)
     * @throws EdgeException when the edge cannot take it (queue full, does not fit)
     */
    CompletionStream continueAfter(String partial, int completionTokensSoFar, RouteDecision decision);
  }

  /**
   * One escalation.
   *
   * @param requestId the request id (sent to the core)
   * @param request the request as the client sent it
   * @param tenant the tenant it is billed to
   * @param decision the routing decision (its reason goes to the core in {@code EscalationContext})
   * @param sampling validated sampling controls
   * @param timeout the deadline for the whole call
   * @param fallback how to finish locally, or null when policy forbids it (the caller required the core)
   * @param localDraft the edge's own answer when a cascade judged it too weak (sent to the core as
   *     context), else empty
   */
  record Call(String requestId, CompletionRequest request, Tenant tenant, RouteDecision decision,
      SamplingParams sampling, Duration timeout, Fallback fallback, String localDraft) {
    public Call {
      requireNonNull(requestId, "requestId");
      requireNonNull(request, "request");
      requireNonNull(tenant, "tenant");
      requireNonNull(decision, "decision");
      requireNonNull(sampling, "sampling");
      requireNonNull(timeout, "timeout");
      requireNonNull(localDraft, "localDraft");
    }

    /** This call with {@code newRequest} sent instead (e.g. an {@link Egress} rewrite). */
    public Call withRequest(CompletionRequest newRequest) {
      return new Call(requestId, newRequest, tenant, decision, sampling, timeout, fallback, localDraft);
    }

    /** This call with {@code newDraft} as the local draft. */
    public Call withLocalDraft(String newDraft) {
      return new Call(requestId, request, tenant, decision, sampling, timeout, fallback, newDraft);
    }

    /** This call with {@code newFallback} (null: the edge must not continue). */
    public Call withFallback(Fallback newFallback) {
      return new Call(requestId, request, tenant, decision, sampling, timeout, newFallback, localDraft);
    }

    /** A call without a local draft. */
    public Call(String requestId, CompletionRequest request, Tenant tenant, RouteDecision decision,
        SamplingParams sampling, Duration timeout, Fallback fallback) {
      this(requestId, request, tenant, decision, sampling, timeout, fallback, "");
    }
  }

  /** An escalator for an agent without a core: always {@link CoreState#NOT_CONFIGURED}. */
  static Escalator none() {
    return new Escalator() {
      @Override
      public CoreState state() {
        return CoreState.NOT_CONFIGURED;
      }

      @Override
      public CompletionStream escalate(Call call) {
        throw EdgeException.unavailable("no core is configured for this agent");
      }
    };
  }
}
