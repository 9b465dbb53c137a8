package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The answer of a request that asked for a re-answer ({@link Deferrals}): the moment it turns
 * {@code edge-degraded} because the core could not be used — planned so ({@code core-unreachable},
 * {@code circuit-open}) or after the core failed ({@code core-failed}, {@code
 * core-failed-midstream}) — the request is kept for the core, durably, before the reader learns its
 * id from {@link #served()}. {@code no-core} is not deferred: there is no core to ask. A request
 * whose tenant's privacy policy masks what leaves for the core, or that wants tool calls, is refused
 * a deferral (it keeps its degraded answer). Confined to its reader, like the stream it wraps;
 * {@link #cancel()} from any thread.
 */
final class DeferredAnswer extends WatchedStream {
  /** The decision a replay is sent to the core with. */
  static final RouteDecision REPLAY = new RouteDecision(Route.CORE, "reanswer-deferred");

  private final Job job;
  private final SamplingParams coreSampling;
  private final Deferrals deferrals;
  // written by the reader; read by a close from another thread (the audit record)
  private volatile Deferral outcome;

  /**
   * {@code inner}, deferred through {@code deferrals} if it is or turns degraded.
   *
   * @param coreSampling the sampling the core is to be asked with (the plan's for the core)
   */
  DeferredAnswer(CompletionStream inner, Job job, SamplingParams coreSampling, Deferrals deferrals) {
    super(inner);
    this.job = requireNonNull(job, "job");
    this.coreSampling = requireNonNull(coreSampling, "coreSampling");
    this.deferrals = requireNonNull(deferrals, "deferrals");
    check();
  }

  /** Whether {@code route} is an answer the core would have given, had it been usable. */
  static boolean degradedForTheCore(RouteDecision route) {
    return route.route() == Route.EDGE_DEGRADED && !route.reason().equals(CoreState.NOT_CONFIGURED.reason());
  }

  @Override
  StreamEvent seen(StreamEvent event) {
    check();
    return event;
  }

  @Override
  public Served served() {
    Served served = inner.served();
    return outcome == null ? served : served.withDeferral(outcome);
  }

  private void check() {
    if (outcome == null && degradedForTheCore(inner.served().route())) {
      outcome = defer();
    }
  }

  private Deferral defer() {
    if (job.screening() != Screening.NONE) {
      return Deferral.refused(Deferral.PRIVACY_POLICY);
    }
    if (job.request().structured().format() == StructuredOutput.Format.TOOL_CALLS) {
      return Deferral.refused(Deferral.TOOL_CALLS);
    }
    return deferrals.defer(replay(job, coreSampling));
  }

  /**
   * The call that asks the core again: the request as the client sent it, at {@code low} priority,
   * without the {@code reanswer} hint, and with no fallback (the edge has answered already). Its
   * timeout is a placeholder: the replayer sets {@code reanswer.replay_timeout}.
   */
  static Escalator.Call replay(Job job, SamplingParams sampling) {
    Map<String, String> hints = new HashMap<>(job.request().hints());
    hints.remove(RoutingHints.REANSWER);
    hints.put(RequestValidator.PRIORITY_HINT, "low");
    CompletionRequest request = job.request().withHints(hints, Optional.empty());
    return new Escalator.Call(job.id(), request, job.tenant(), REPLAY, sampling, Duration.ZERO, null);
  }
}
