package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.route.RouteDecision;
import java.util.Optional;

/**
 * Who answers a request and how, known before its first event.
 *
 * @param requestId the caller's id, or the one made up
 * @param route the routing decision ({@code cache} for a replayed answer)
 * @param model the model that answers
 * @param modelVersion that model's version
 * @param deferral what became of the caller's request for a re-answer by the core ({@link Deferral}),
 *     once its answer turned {@code edge-degraded}; empty when none was asked for or needed
 */
public record Served(String requestId, RouteDecision route, String model, String modelVersion,
    Optional<Deferral> deferral) {
  public Served {
    requireNonNull(requestId, "requestId");
    requireNonNull(route, "route");
    requireNonNull(model, "model");
    requireNonNull(modelVersion, "modelVersion");
    requireNonNull(deferral, "deferral");
  }

  /** Who answers, with no re-answer asked for. */
  public Served(String requestId, RouteDecision route, String model, String modelVersion) {
    this(requestId, route, model, modelVersion, Optional.empty());
  }

  /** This answer, with {@code outcome} for its re-answer. */
  public Served withDeferral(Deferral outcome) {
    return new Served(requestId, route, model, modelVersion, Optional.of(outcome));
  }
}
