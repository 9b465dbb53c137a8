package io.infermesh.edge.route;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * What the router may look at: transport-free facts about one request.
 *
 * @param tenant the tenant the request is billed to
 * @param model the requested model or alias ({@code auto}, {@code edge}, {@code core} or a name)
 * @param hints routing hints with lower-case keys (e.g. {@code privacy: local-only}, {@code require: core})
 * @param promptTokens the prompt length in the local model's tokens
 * @param maxTokens the completion budget (as requested, or the default)
 * @param localContextSize the local engine's context per request
 * @param text the user-visible prompt text (chat contents joined, or the raw prompt), for difficulty scoring
 * @param turns the number of chat messages (1 for a raw prompt)
 * @param budget how long the caller is willing to wait for the whole answer, if it said so
 * @param coreOnlyFeature a feature of the request only the core can serve (e.g. {@code logprobs}), if any
 */
public record RouteRequest(
    String tenant,
    String model,
    Map<String, String> hints,
    int promptTokens,
    int maxTokens,
    int localContextSize,
    String text,
    int turns,
    Optional<Duration> budget,
    Optional<String> coreOnlyFeature) {
  public RouteRequest {
    requireNonNull(coreOnlyFeature, "coreOnlyFeature");
    requireNonNull(tenant, "tenant");
    requireNonNull(model, "model");
    hints = Map.copyOf(requireNonNull(hints, "hints"));
    requireNonNull(text, "text");
    requireNonNull(budget, "budget");
  }

  /** A request that any tier can serve. */
  public RouteRequest(String tenant, String model, Map<String, String> hints, int promptTokens, int maxTokens,
      int localContextSize, String text, int turns, Optional<Duration> budget) {
    this(tenant, model, hints, promptTokens, maxTokens, localContextSize, text, turns, budget, Optional.empty());
  }

  /** A request with no text, one turn and no budget (the facts {@link LocalOnlyRouter} needs). */
  public RouteRequest(
      String tenant, String model, Map<String, String> hints, int promptTokens, int maxTokens, int localContextSize) {
    this(tenant, model, hints, promptTokens, maxTokens, localContextSize, "", 1, Optional.empty());
  }

  /** Whether the {@code privacy} hint says the request must not leave this device. */
  public boolean localOnlyHint() {
    return "local-only".equals(hints.get("privacy"));
  }

  /** Whether the caller insists on the core ({@code require: core}). */
  public boolean requiresCore() {
    return "core".equals(hints.get("require"));
  }
}
