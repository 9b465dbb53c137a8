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
 * @param nodeId the node whose engine produced the answer as it reported itself ({@code
 *     ServedBy.node_id} of a core's answer); empty for this agent
 * @param region that node's region; empty for this agent's
 */
public record Served(String requestId, RouteDecision route, String model, String modelVersion, String nodeId,
    String region) {
  public Served {
    requireNonNull(requestId, "requestId");
    requireNonNull(route, "route");
    requireNonNull(model, "model");
    requireNonNull(modelVersion, "modelVersion");
    requireNonNull(nodeId, "nodeId");
    requireNonNull(region, "region");
  }

  /** Served by this agent (or not known yet). */
  public Served(String requestId, RouteDecision route, String model, String modelVersion) {
    this(requestId, route, model, modelVersion, "", "");
  }
}
