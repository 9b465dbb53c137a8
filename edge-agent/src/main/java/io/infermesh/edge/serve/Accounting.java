package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Ticker;
import io.infermesh.edge.auth.RateLimiter;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.cache.CacheKey;
import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.cache.ResponseCache;
import io.infermesh.edge.engine.Completion;
import io.infermesh.edge.metrics.EdgeMetrics;
import io.infermesh.edge.route.RouteDecision;
import java.time.Duration;

/**
 * Where running requests report what they cost as they end: the GenAI meters ({@code
 * gen_ai.server.request.duration}, time to first token, time per output token, token usage), the
 * tenant's token rate, the edge's load estimate and the response cache; and the {@link InFlight}
 * entry they leave. Called on the reader's thread of each request. Thread-safe (each part is).
 */
final class Accounting {
  /** The GenAI operation name of {@code /v1/embeddings}. */
  static final String EMBEDDINGS = "embeddings";

  private final EdgeMetrics metrics;
  private final RateLimiter limiter;
  private final ResponseCache cache;
  private final LoadEstimate load;
  private final Ticker ticker;
  private final InFlight ledger;

  private Accounting(CompletionService.Builder b, InFlight ledger) {
    this.metrics = b.metrics;
    this.limiter = b.limiter;
    this.cache = b.cache;
    this.load = b.load;
    this.ticker = b.ticker;
    this.ledger = requireNonNull(ledger, "ledger");
  }

  /** The accounting of the service {@code b} assembles, whose requests leave {@code ledger}. */
  static Accounting of(CompletionService.Builder b, InFlight ledger) {
    return new Accounting(b, ledger);
  }

  /** The ticker's reading now. */
  long now() {
    return ticker.read();
  }

  /**
   * A local generation of {@code job} finished as {@code completion}.
   *
   * @param firstTokenAt the ticker's reading at its first token; 0 when it produced no text
   */
  void generated(Job job, Completion completion, long firstTokenAt) {
    long endedAt = ticker.read();
    String op = job.request().operation().semanticName();
    String model = job.model().name();
    if (firstTokenAt != 0) {
      metrics.timeToFirstToken(op, model, Duration.ofNanos(firstTokenAt - job.window().arrived()));
      if (completion.completionTokens() > 1) {
        metrics.timePerOutputToken(op, model,
            Duration.ofNanos((endedAt - firstTokenAt) / (completion.completionTokens() - 1)));
      }
    }
    metrics.tokenUsage(op, model, completion.promptTokens(), completion.completionTokens());
    if (load != null && firstTokenAt != 0) {
      load.record(endedAt - firstTokenAt);
    }
    charge(job, (long) completion.promptTokens() + completion.completionTokens());
  }

  /** Counts one routing decision ({@code infermesh.route.decisions}). */
  void decided(RouteDecision decision) {
    metrics.routeDecision(decision.route().wireName(), decision.reason());
  }

  /** Keeps {@code answer} for replay under {@code key}. */
  void store(CacheKey key, CachedCompletion answer) {
    cache.put(key, answer);
  }

  /** Charges {@code tokens} to {@code tenant}'s token rate. */
  void charge(Tenant tenant, long tokens) {
    limiter.recordTokens(tenant, tokens);
  }

  /** Charges {@code tokens}, used by one of {@code job}'s generations, to its tenant's rate and its quota meter. */
  void charge(Job job, long tokens) {
    limiter.recordTokens(job.tenant(), tokens);
    job.meter().add(tokens);
  }

  /**
   * {@code entry}, serving {@code job}, ended: counted in {@code gen_ai.server.request.duration} and
   * removed from the ledger.
   *
   * @param route the route it was served on, e.g. {@code edge}
   * @param errorType {@code none}, or the failure's metric name
   */
  void ended(InFlight.Entry entry, Job job, String route, String errorType) {
    metrics.request(job.request().operation().semanticName(), job.model().name(), route, errorType,
        Duration.ofNanos(ticker.read() - job.window().arrived()));
    ledger.leave(entry);
  }

  /** {@code entry}, a part of a request that another entry counts, ended: it leaves the ledger only. */
  void left(InFlight.Entry entry) {
    ledger.leave(entry);
  }

  /**
   * One embeddings request ended: counted in the GenAI meters and its route decision, as
   * completions are.
   *
   * @param model the model that embedded, or the edge's model when the request failed before one did
   * @param route the route decision, or null when the request failed before one was made
   * @param errorType {@code none}, or the failure's metric name
   */
  void embedded(String model, RouteDecision route, String errorType, int promptTokens, long arrived) {
    if (route != null) {
      metrics.routeDecision(route.route().wireName(), route.reason());
    }
    metrics.request(EMBEDDINGS, model, route == null ? "none" : route.route().wireName(), errorType,
        Duration.ofNanos(ticker.read() - arrived));
    if (promptTokens > 0) {
      metrics.tokenUsage(EMBEDDINGS, model, promptTokens, 0);
    }
  }
}
