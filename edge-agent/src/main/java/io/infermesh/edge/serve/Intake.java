package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.RateLimiter;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Priority;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.metrics.EdgeMetrics;
import java.util.List;

/**
 * The checks a request passes before anything is planned for it, in the order a client sees their
 * refusals: the model it names, its hints against that model, the size bounds (before anything
 * renders, tokenizes or copies the input) — {@link #screen}; then the chat or prompt, the sampling
 * controls, the tenant's request and token rates, and the priority hint — {@link #accept}. What
 * passes becomes a {@link Job} with an id and a deadline ({@code admission.request_timeout}, or the
 * caller's own when shorter). Thread-safe.
 */
final class Intake {
  private final EdgeConfig config;
  private final RateLimiter limiter;
  private final Escalator escalator;
  private final EdgeMetrics metrics;

  private Intake(CompletionService.Builder b) {
    this.config = b.config;
    this.limiter = b.limiter;
    this.escalator = b.escalator;
    this.metrics = b.metrics;
  }

  /** The intake of the service {@code b} assembles. */
  static Intake of(CompletionService.Builder b) {
    return new Intake(requireNonNull(b, "b"));
  }

  /**
   * Checks that {@code request} names a model served here, that its hints agree with it, and that
   * its input is within the size bounds.
   *
   * @throws EdgeException NOT_FOUND for an unknown model, INVALID_ARGUMENT naming the hint or field
   */
  void screen(CompletionRequest request, ModelInfo model) {
    List<String> coreModels = config.routing().coreModels();
    checkModel(request.model(), model, coreModels);
    RoutingHints.checkConflicts(request.hints(), request.model(), model, coreModels);
    InputLimits.check(request, config.limits());
  }

  /**
   * Validates {@code request} (screened already) and counts it against {@code tenant}'s rates.
   *
   * @param arrived the ticker's reading when the request arrived
   * @throws EdgeException INVALID_ARGUMENT naming the field, RATE_LIMITED with a retry hint
   */
  Job accept(CompletionRequest request, Tenant tenant, ModelInfo model, long arrived) {
    if (request.operation() == Operation.CHAT) {
      RequestValidator.messages(request.messages());
    } else if (request.prompt() == null) {
      throw EdgeException.invalid("prompt", "prompt: is required");
    }
    // with a core behind it, max_tokens beyond the edge's context is the core's to judge
    SamplingParams sampling = RequestValidator.sampling(request.sampling(),
        config.escalation().enabled() ? Integer.MAX_VALUE / 2 : model.contextSize())
        .withGrammar(request.structured().gbnf());
    checkRates(tenant);
    Priority asked = RequestValidator.priority(request.hints());
    // a credential's ceiling lowers what its caller asks for, never refuses it
    Priority priority = tenant.priorityCeiling().filter(c -> c.compareTo(asked) > 0).orElse(asked);
    long timeout = config.admission().requestTimeout().toNanos();
    if (request.timeout().isPresent()) {
      timeout = Math.min(timeout, Math.max(0, request.timeout().get().toNanos()));
    }
    return new Job(InFlight.requestId(request.requestId()), tenant, request,
        new Job.Terms(model, sampling, priority), new Job.Window(arrived, arrived + timeout));
  }

  /**
   * Counts one request against {@code tenant}'s request and token rates, for endpoints that plan
   * nothing (embeddings); a refusal is counted in {@code infermesh.edge.rejections}.
   *
   * @throws EdgeException RATE_LIMITED when either is spent
   */
  void admitRequest(Tenant tenant) {
    try {
      checkRates(tenant);
    } catch (EdgeException e) {
      metrics.rejection(e.kind().metricName());
      throw e;
    }
  }

  private void checkRates(Tenant tenant) {
    limiter.tryAcquireRequest(tenant).ifPresent(wait -> {
      throw EdgeException.rateLimited("requests", "Rate limit reached for tenant '" + tenant.name() + "' ("
          + tenant.requestsPerMinute() + " requests per minute); retry after " + EdgeException.seconds(wait) + " s.",
          wait);
    });
    limiter.checkTokens(tenant).ifPresent(wait -> {
      throw EdgeException.rateLimited("tokens", "Token rate limit reached for tenant '" + tenant.name() + "' ("
          + tenant.tokensPerMinute() + " tokens per minute); retry after " + EdgeException.seconds(wait) + " s.",
          wait);
    });
  }

  /** Accepts the aliases, the edge's model and the core's (asking the core only for a name not known yet). */
  private void checkModel(String requested, ModelInfo model, List<String> coreModels) {
    switch (requested) {
      case "", "auto", "edge", "core" -> {
        return;
      }
      default -> {
        if (requested.equals(model.name()) || coreModels.contains(requested)
            || escalator.coreModelNames().contains(requested)
            || escalator.coreModels().stream().anyMatch(m -> m.name().equals(requested))) {
          return;
        }
      }
    }
    throw EdgeException.modelNotFound("model: the model '" + RoutingHints.echo(requested) // never echo unbounded input
        + "' does not exist or is not served here; available: " + model.name() + " (aliases: auto, edge)");
  }
}
