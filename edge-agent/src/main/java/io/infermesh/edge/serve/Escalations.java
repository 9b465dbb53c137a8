package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.Engine;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.time.Duration;

/**
 * Carries out {@link Plan.Core}: sends the request to the core through the {@link Escalator}
 * (rewritten by the {@link Egress} on its way out and back), with a deadline of {@code
 * escalation.timeout} but never more than the request has left, and tracks the answer in the
 * {@link InFlight} ledger. When the plan allows it, the edge finishes an answer the core failed
 * ({@link RequestPlanner#resume}), as {@code edge-degraded}. Thread-safe.
 */
final class Escalations {
  private final Escalator escalator;
  private final Egress egress;
  private final Duration timeout;
  private final LocalGenerations local;
  private final InFlight ledger;
  private final Accounting accounting;
  private final Tracer tracer;

  private Escalations(CompletionService.Builder b, LocalGenerations local, InFlight ledger, Accounting accounting) {
    this.escalator = b.escalator;
    this.egress = b.egress;
    this.timeout = b.config.escalation().timeout();
    this.local = requireNonNull(local, "local");
    this.ledger = requireNonNull(ledger, "ledger");
    this.accounting = requireNonNull(accounting, "accounting");
    this.tracer = b.tracing.tracer();
  }

  /** The escalations of the service {@code b} assembles; continuations run on {@code local}. */
  static Escalations of(CompletionService.Builder b, LocalGenerations local, InFlight ledger, Accounting accounting) {
    return new Escalations(b, local, ledger, accounting);
  }

  /**
   * Escalates {@code job} as {@code plan}.
   *
   * @param engine the edge's engine, which finishes the answer if the core fails
   * @param localDraft the edge's own answer when a cascade judged it too weak (sent as context), else empty
   * @throws EdgeException UNAVAILABLE when draining, or what the escalator throws
   */
  CompletionStream run(Job job, Engine engine, Plan.Core plan, String localDraft) {
    Escalator.Fallback fallback = plan.continuable()
        ? (partial, soFar, degraded) -> resume(job, engine, plan, new RequestPlanner.Interruption(partial, soFar,
            degraded))
        : null;
    Duration coreTimeout = Duration.ofNanos(Math.min(job.window().remaining(accounting.now()), timeout.toNanos()));
    Escalator.Call call = new Escalator.Call(job.id(), job.request(), job.tenant(), plan.decision(), plan.sampling(),
        coreTimeout, fallback, localDraft);
    // the client span of the call to the core: current while the call starts, so the core's span is its child
    Span span = tracer.spanBuilder(EdgeSpans.ESCALATE).setSpanKind(SpanKind.CLIENT)
        .setAttribute(EdgeSpans.REQUEST_ID, job.id())
        .setAttribute(EdgeSpans.OPERATION, job.request().operation().semanticName())
        .setAttribute(EdgeSpans.REQUEST_MODEL, job.request().model())
        .setAttribute(EdgeSpans.MAX_TOKENS, (long) plan.sampling().maxTokens())
        .setAttribute(EdgeSpans.ROUTE_REASON, plan.decision().reason())
        .startSpan();
    CompletionStream answer;
    try (Scope ignored = span.makeCurrent()) {
      answer = egress == Egress.NONE ? escalator.escalate(call)
          : RewrittenAnswer.start(egress.open(call), call, escalator::escalate);
    } catch (RuntimeException e) {
      if (e instanceof EdgeException refused) {
        EdgeSpans.failed(span, refused);
      }
      span.end();
      throw e;
    }
    TrackedStream tracked = new TrackedStream(new SpanStream(answer, span), job, accounting);
    ledger.enter(tracked, answer::close);
    return tracked;
  }

  /** The edge's continuation of {@code plan} after the core stopped {@code at}; on the reader's thread. */
  private CompletionStream resume(Job job, Engine engine, Plan.Core plan, RequestPlanner.Interruption at) {
    Plan.Local rest = RequestPlanner.resume(job, plan, at, engine::rawPrompt);
    accounting.decided(rest.decision());
    long now = accounting.now();
    return local.resume(new LocalGenerations.Attempt(job, engine, rest, now + job.window().remaining(now)));
  }
}
