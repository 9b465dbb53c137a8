package io.infermesh.edge.metrics;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The edge agent's meters, with the OpenTelemetry GenAI names where they exist:
 *
 * <ul>
 *   <li>{@code gen_ai.server.request.duration} — seconds per request, by operation, model, route
 *       and error type ({@code _OTHER}-free: {@code none} on success);
 *   <li>{@code gen_ai.server.time_to_first_token} — seconds from arrival to the first token;
 *   <li>{@code gen_ai.server.time_per_output_token} — seconds per token after the first;
 *   <li>{@code gen_ai.client.token.usage} — tokens per request, by {@code gen_ai.token.type}
 *       ({@code input}, {@code output});
 *   <li>{@code infermesh.edge.queue.depth} — requests waiting for a slot;
 *   <li>{@code infermesh.edge.cache.requests} — cache lookups by {@code result} ({@code hit},
 *       {@code miss});
 *   <li>{@code infermesh.edge.rejections} — refused requests by {@code reason};
 *   <li>{@code infermesh.edge.privacy.matches} — sensitive values found, by detector {@code kind} and {@code action};
 *   <li>{@code infermesh.route.decisions} — routing decisions by {@code route} and {@code reason}.
 * </ul>
 *
 * Thread-safe. The meters of the per-request calls are looked up in a map keyed by their tag values
 * and registered on first use: building a Micrometer id (sorted {@code Tags}) on every call was
 * about 8% of the cache-hit path's allocation (issue 19).
 */
public final class EdgeMetrics {
  private static final String SYSTEM = "llama.cpp";
  /** The rejection reason of a full admission queue ({@code EdgeException.Kind.QUEUE_FULL}). */
  private static final String QUEUE_FULL = "queue_full";

  private final MeterRegistry registry;
  private final Map<List<String>, Meter> meters = new ConcurrentHashMap<>();

  private EdgeMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Meters registered in {@code registry}. */
  public static EdgeMetrics of(MeterRegistry registry) {
    return new EdgeMetrics(requireNonNull(registry, "registry"));
  }

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * Reports the admission queue's depth as read from {@code depth}, and registers its refusals
   * ({@code infermesh.edge.rejections}, reason {@code queue_full}) at 0.
   */
  public void queueDepth(Supplier<Number> depth) {
    Gauge.builder("infermesh.edge.queue.depth", depth)
        .description("Requests waiting for a free engine slot")
        .baseUnit("requests")
        .register(registry);
    rejections(QUEUE_FULL); // at 0 from the start: the queue-saturation alert sees it rise, not appear
  }

  /** Reports the requests in flight (generating, waiting for a slot, streaming from the core) as read from {@code count}. */
  public void inFlight(Supplier<Number> count) {
    Gauge.builder("infermesh.edge.requests.in_flight", count)
        .description("Requests admitted and not yet ended: generating, waiting for a slot, or streaming from the core")
        .baseUnit("requests")
        .register(registry);
  }

  /** One finished (or failed) request. {@code errorType} is {@code none} on success. */
  public void request(String operation, String model, String route, String errorType, Duration duration) {
    meter(List.of("request", operation, model, route, errorType), () -> Timer.builder("gen_ai.server.request.duration")
        .description("Time to serve a request, end to end")
        .tag("gen_ai.operation.name", operation)
        .tag("gen_ai.request.model", model)
        .tag("gen_ai.system", SYSTEM)
        .tag("infermesh.route", route)
        .tag("error.type", errorType)
        .publishPercentileHistogram()
        .register(registry), Timer.class)
        .record(duration);
  }

  /** Time from a request's arrival to its first generated token. */
  public void timeToFirstToken(String operation, String model, Duration duration) {
    Timer.builder("gen_ai.server.time_to_first_token")
        .description("Time from arrival to the first generated token")
        .tag("gen_ai.operation.name", operation)
        .tag("gen_ai.request.model", model)
        .tag("gen_ai.system", SYSTEM)
        .publishPercentileHistogram()
        .register(registry)
        .record(duration);
  }

  /** Mean time per generated token after the first, for one request. */
  public void timePerOutputToken(String operation, String model, Duration duration) {
    Timer.builder("gen_ai.server.time_per_output_token")
        .description("Time per generated token after the first")
        .tag("gen_ai.operation.name", operation)
        .tag("gen_ai.request.model", model)
        .tag("gen_ai.system", SYSTEM)
        .publishPercentileHistogram()
        .register(registry)
        .record(duration);
  }

  /** Tokens used by one request. */
  public void tokenUsage(String operation, String model, int inputTokens, int outputTokens) {
    tokens(operation, model, "input").record(inputTokens);
    tokens(operation, model, "output").record(outputTokens);
  }

  private DistributionSummary tokens(String operation, String model, String type) {
    return meter(List.of("tokens", operation, model, type), () -> DistributionSummary.builder("gen_ai.client.token.usage")
        .description("Tokens used per request")
        .baseUnit("tokens")
        .tag("gen_ai.operation.name", operation)
        .tag("gen_ai.request.model", model)
        .tag("gen_ai.system", SYSTEM)
        .tag("gen_ai.token.type", type)
        .register(registry), DistributionSummary.class);
  }

  /** One response-cache lookup; {@code hit} false for a miss. */
  public void cacheLookup(boolean hit) {
    String result = hit ? "hit" : "miss";
    meter(List.of("cache", result), () -> Counter.builder("infermesh.edge.cache.requests")
        .description("Response cache lookups by result")
        .tag("result", result)
        .register(registry), Counter.class)
        .increment();
  }

  /**
   * One refused request, e.g. {@code queue_full}, {@code rate_limited}, {@code unauthenticated},
   * {@code invalid_request}, {@code unavailable}.
   */
  public void rejection(String reason) {
    rejections(reason).increment();
  }

  private Counter rejections(String reason) {
    return Counter.builder("infermesh.edge.rejections")
        .description("Requests refused, by reason")
        .tag("reason", reason)
        .register(registry);
  }

  /**
   * Sensitive values a privacy policy found in one request: {@code count} matches of detector {@code
   * kind}, handled by {@code action} ({@code mask}, {@code block}, {@code local_only}).
   */
  public void privacyMatches(String kind, String action, int count) {
    Counter.builder("infermesh.edge.privacy.matches")
        .description("Sensitive values found by the privacy policies, by detector kind and action")
        .tag("kind", kind)
        .tag("action", action)
        .register(registry)
        .increment(count);
  }

  /** One routing decision. */
  public void routeDecision(String route, String reason) {
    meter(List.of("route", route, reason), () -> Counter.builder("infermesh.route.decisions")
        .description("Routing decisions by route and reason")
        .tag("route", route)
        .tag("reason", reason)
        .register(registry), Counter.class)
        .increment();
  }

  /**
   * The meter registered under {@code key} (a kind, then its tag values), made by {@code register} on
   * first use. A meter the registry's filters refused comes back as Micrometer's no-op, as before.
   */
  private <M extends Meter> M meter(List<String> key, Supplier<M> register, Class<M> type) {
    Meter m = meters.get(key);
    if (m == null) {
      m = meters.computeIfAbsent(key, k -> register.get());
    }
    return type.cast(m);
  }
}
