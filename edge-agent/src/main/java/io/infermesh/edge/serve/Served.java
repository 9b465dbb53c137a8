package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.route.RouteDecision;

/**
 * Who answers a request and how, known before its first event.
 *
 * @param requestId the caller's id, or the one made up
 * @param route the routing decision ({@code cache} for a replayed answer)
 * @param model the model that answers
 * @param modelVersion that model's version
 */
public record Served(String requestId, RouteDecision route, String model, String modelVersion) {
  public Served {
    requireNonNull(requestId, "requestId");
    requireNonNull(route, "route");
    requireNonNull(model, "model");
    requireNonNull(modelVersion, "modelVersion");
  }
}
