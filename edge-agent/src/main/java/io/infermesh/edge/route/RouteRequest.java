package io.infermesh.edge.route;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * What the router may look at: transport-free facts about one request.
 *
 * @param tenant the tenant the request is billed to
 * @param model the requested model or alias ({@code auto}, {@code edge}, {@code core} or a name)
 * @param hints routing hints with lower-case keys (e.g. {@code privacy: local-only})
 * @param promptTokens the prompt length in the local model's tokens
 * @param maxTokens the completion budget
 * @param localContextSize the local engine's context per request
 */
public record RouteRequest(
    String tenant, String model, Map<String, String> hints, int promptTokens, int maxTokens, int localContextSize) {
  public RouteRequest {
    requireNonNull(tenant, "tenant");
    requireNonNull(model, "model");
    hints = Map.copyOf(requireNonNull(hints, "hints"));
  }
}
