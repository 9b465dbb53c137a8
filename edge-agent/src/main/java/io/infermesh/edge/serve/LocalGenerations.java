package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.Engine;
import io.opentelemetry.api.trace.Tracer;
import java.time.Duration;

/**
 * Carries out {@link Plan.Local}: admits the generation to the {@link AdmissionQueue} (a slot, or
 * a place in the bounded line) and to the {@link InFlight} ledger, and hands the reader a {@link
 * GenerationTask} that waits for its slot when first read. Refusals are thrown before anything
 * runs: QUEUE_FULL with a retry hint, UNAVAILABLE while draining. Thread-safe.
 */
final class LocalGenerations {
  private final AdmissionQueue admission;
  private final InFlight ledger;
  private final Accounting accounting;
  private final Duration retryAfter;
  private final Tracer tracer;

  /**
   * Generations admitted to {@code admission} and {@code ledger}, reporting to {@code accounting}.
   *
   * @param retryAfter the retry hint of a refusal for a full queue ({@code admission.retry_after})
   * @param tracer records each generation's wait for a slot and the generation itself
   */
  LocalGenerations(AdmissionQueue admission, InFlight ledger, Accounting accounting, Duration retryAfter,
      Tracer tracer) {
    this.tracer = requireNonNull(tracer, "tracer");
    this.admission = requireNonNull(admission, "admission");
    this.ledger = requireNonNull(ledger, "ledger");
    this.accounting = requireNonNull(accounting, "accounting");
    this.retryAfter = requireNonNull(retryAfter, "retryAfter");
  }

  /**
   * One local generation to run.
   *
   * @param job the request it answers
   * @param engine the engine that generates it
   * @param plan what to generate: prompt, sampling, the decision it is served as, where to cache it
   * @param deadline the ticker's reading after which it stops (DEADLINE_EXCEEDED)
   */
  record Attempt(Job job, Engine engine, Plan.Local plan, long deadline) {
    Attempt {
      requireNonNull(job, "job");
      requireNonNull(engine, "engine");
      requireNonNull(plan, "plan");
    }

    /** {@code plan} for {@code job} on {@code engine}, within the job's own deadline. */
    static Attempt of(Job job, Engine engine, Plan.Local plan) {
      return new Attempt(job, engine, plan, job.window().deadline());
    }
  }

  /**
   * Admits {@code attempt}.
   *
   * @throws EdgeException QUEUE_FULL when every slot is busy and the line is full; UNAVAILABLE when draining
   */
  GenerationTask start(Attempt attempt) {
    AdmissionQueue.Ticket ticket = admission.tryEnter(attempt.job().terms().priority());
    if (ticket == null) {
      throw EdgeException.queueFull("The server is busy: " + admission.slots() + " requests are generating and "
          + admission.depth() + " are waiting. Retry after " + EdgeException.seconds(retryAfter) + " s.", retryAfter);
    }
    GenerationTask task = new GenerationTask(attempt, ticket, accounting, true, tracer);
    ledger.enter(task, ticket::close);
    return task;
  }

  /**
   * Admits {@code attempt}, which finishes an answer the core failed: the request was admitted
   * already, so a drain does not refuse it.
   *
   * @throws EdgeException QUEUE_FULL when every slot is busy and the line is full
   */
  GenerationTask resume(Attempt attempt) {
    AdmissionQueue.Ticket ticket = admission.tryEnter(attempt.job().terms().priority());
    if (ticket == null) {
      throw EdgeException.queueFull("the core failed and the edge is busy; retry", retryAfter);
    }
    GenerationTask task = new GenerationTask(attempt, ticket, accounting, false, tracer);
    ledger.join(task);
    return task;
  }
}
