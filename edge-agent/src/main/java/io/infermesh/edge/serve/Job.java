package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Priority;
import io.infermesh.edge.engine.SamplingParams;

/**
 * One request the edge has accepted: checked, within its tenant's limits, with an id and a
 * deadline. It is what the {@link RequestPlanner} decides over and what every executor of a
 * {@link Plan} carries. Immutable.
 *
 * @param id the caller's request id, or one made up
 * @param tenant who pays for it
 * @param request the request as the transport handed it over
 * @param terms what it was accepted on: the model it was checked against, its sampling, its priority
 * @param window when it arrived and when it must have ended
 * @param screening what the tenant's privacy policy found in it ({@link Screening#NONE} without one)
 * @param meter its reservation in the tenant's token quotas, and what it used ({@link Meter#NONE} without)
 */
record Job(String id, Tenant tenant, CompletionRequest request, Terms terms, Window window, Screening screening,
    Meter meter) {
  Job {
    requireNonNull(id, "id");
    requireNonNull(tenant, "tenant");
    requireNonNull(request, "request");
    requireNonNull(terms, "terms");
    requireNonNull(window, "window");
    requireNonNull(screening, "screening");
    requireNonNull(meter, "meter");
  }

  /** A job whose request no privacy policy looked at. */
  Job(String id, Tenant tenant, CompletionRequest request, Terms terms, Window window) {
    this(id, tenant, request, terms, window, Screening.NONE, Meter.NONE);
  }

  /** This job with what its tenant's privacy policy found in it. */
  Job screened(Screening found) {
    return new Job(id, tenant, request, terms, window, found, meter);
  }

  /** This job holding {@code reserved} in its tenant's token quotas. */
  Job metered(Meter reserved) {
    return new Job(id, tenant, request, terms, window, screening, reserved);
  }

  /**
   * What a request was accepted on.
   *
   * @param model the edge's model when it was accepted (its context, name and digest)
   * @param sampling the validated sampling controls, with the grammar of a structured answer; an
   *     unset {@code max_tokens} is a placeholder until the prompt's length is known
   * @param priority its class in the admission queue
   */
  record Terms(ModelInfo model, SamplingParams sampling, Priority priority) {
    Terms {
      requireNonNull(model, "model");
      requireNonNull(sampling, "sampling");
      requireNonNull(priority, "priority");
    }
  }

  /**
   * When a request arrived and when it must end, in ticker nanoseconds.
   *
   * @param arrived the ticker's reading when the transport handed the request over
   * @param deadline the reading after which its generation stops
   */
  record Window(long arrived, long deadline) {
    /** What is left of the window at {@code now}: at least 1 ns, so a late request still gets a deadline. */
    long remaining(long now) {
      return Math.max(1, deadline - now);
    }
  }

  /** The edge's model this job was accepted for. */
  ModelInfo model() {
    return terms.model();
  }

  /** Its validated sampling controls. */
  SamplingParams sampling() {
    return terms.sampling();
  }

  /** Whether the caller set {@code max_tokens} (else the edge's default, fitted to the context, applies). */
  boolean explicitMaxTokens() {
    return request.sampling().maxTokens() != null;
  }

  /** Whether it is a chat (else a raw prompt). */
  boolean chat() {
    return request.operation() == Operation.CHAT;
  }

  /** The request field that carries its input, for messages that name it. */
  String inputParam() {
    return chat() ? "messages" : "prompt";
  }

  /**
   * Whether the edge may finish the answer if the core fails: not when the caller required the
   * core, nor when it asked for log-probabilities (only the core computes them).
   */
  boolean continuable() {
    return !"core".equals(request.hints().get(RoutingHints.REQUIRE)) && !request.sampling().wantsLogprobs();
  }
}
