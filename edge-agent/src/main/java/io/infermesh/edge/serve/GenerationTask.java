package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.Completion;
import io.infermesh.edge.engine.EngineException;
import io.infermesh.edge.engine.Generation;
import io.infermesh.edge.engine.ModelInfo;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One admitted generation, driven by the transport thread that reads it: {@link #next()} waits
 * for a slot (the request's place in the {@link AdmissionQueue}), starts the engine and pulls
 * tokens. The engine decodes ahead on its own thread, so the reader's socket writes overlap with
 * decoding and no hand-off thread sits in between. It is in the {@link InFlight} ledger from its
 * admission ({@link LocalGenerations}) to its end, when it reports its cost to {@link Accounting},
 * frees its slot and leaves.
 *
 * <p>{@link #next()} and {@link #close()} are confined to the reading thread; {@link #cancel()}
 * and {@link #abort} may come from any thread and are noticed between tokens (or while waiting
 * for a slot).
 */
final class GenerationTask implements CompletionStream, InFlight.Entry {
  private static final Logger log = LoggerFactory.getLogger(GenerationTask.class);

  private final LocalGenerations.Attempt attempt;
  private final Job job;
  private final AdmissionQueue.Ticket ticket;
  private final Accounting accounting;
  private final Served served;
  /** False for a resumed answer: the escalated stream it finishes counts the request (TrackedStream). */
  private final boolean countsTheRequest;
  private final Tracer tracer;
  private final Context traceParent; // the request's span where it was admitted

  private volatile boolean cancelled;
  private volatile EdgeException abortReason;

  // confined to the reader
  private Generation generation;
  private final List<String> chunks;
  private final StringBuilder shadowText; // null unless the answer is offered to the LocalAnswerTap
  private long firstTokenAt;
  private StreamEvent terminal;
  private boolean released;
  private Span span = Span.getInvalid(); // the generation's, from its slot to its end

  /**
   * {@code attempt}, holding {@code ticket} (its place in line, or its slot), reporting to {@code
   * accounting}; {@code countsTheRequest} false when it finishes an answer another stream counts; its
   * wait for a slot and its generation are spans of {@code tracer}, children of the span current now.
   */
  GenerationTask(LocalGenerations.Attempt attempt, AdmissionQueue.Ticket ticket, Accounting accounting,
      boolean countsTheRequest, Tracer tracer) {
    this.countsTheRequest = countsTheRequest;
    this.tracer = requireNonNull(tracer, "tracer");
    this.traceParent = Context.current();
    this.attempt = requireNonNull(attempt, "attempt");
    this.job = attempt.job();
    this.ticket = requireNonNull(ticket, "ticket");
    this.accounting = requireNonNull(accounting, "accounting");
    ModelInfo model = attempt.engine().info();
    this.served = new Served(job.id(), attempt.plan().decision(), model.name(), model.version());
    this.chunks = attempt.plan().storeAs().isPresent() ? new ArrayList<>() : null;
    this.shadowText = countsTheRequest && accounting.shadowed(job, attempt.plan().decision()) ? new StringBuilder()
        : null;
  }

  @Override
  public Served served() {
    return served;
  }

  @Override
  public StreamEvent next() throws InterruptedException {
    if (terminal != null) {
      return terminal;
    }
    if (generation == null) {
      try {
        Span wait = tracer.spanBuilder(EdgeSpans.ADMISSION).setParent(traceParent).startSpan();
        boolean admitted;
        try {
          admitted = ticket.awaitSlot(this::shouldStop);
        } finally {
          wait.end();
        }
        if (!admitted || shouldStop()) {
          return stopped();
        }
        span = generationSpan();
        generation = attempt.engine().start(attempt.plan().prompt(), attempt.plan().sampling(), this::shouldStop);
      } catch (InterruptedException e) {
        end(new StreamEvent.Failed(EdgeException.cancelled("interrupted")), "cancelled");
        throw e;
      } catch (RuntimeException | Error e) {
        return failed(e);
      }
    }
    return pull(true);
  }

  @Override
  public void awaitEnd(long nanos) throws InterruptedException {
    if (terminal == null && generation != null) {
      generation.awaitEnd(nanos);
    }
  }

  @Override
  public StreamEvent poll() {
    if (terminal != null || generation == null || !generation.ready()) {
      return terminal;
    }
    return pull(false);
  }

  /**
   * The next delta or the end; with {@code wait} false only what is already there (null when a
   * held-back empty token leaves nothing ready).
   */
  private StreamEvent pull(boolean wait) {
    try {
      while (wait || generation.ready()) {
        String text = generation.next();
        if (text == null) {
          return done(generation.completion());
        }
        if (!text.isEmpty()) {
          if (firstTokenAt == 0) {
            firstTokenAt = accounting.now();
            span.addEvent(EdgeSpans.FIRST_TOKEN);
          }
          if (chunks != null) {
            chunks.add(text);
          }
          if (shadowText != null) {
            shadowText.append(text);
          }
          return new StreamEvent.Delta(text);
        }
      }
      return null;
    } catch (RuntimeException | Error e) {
      return failed(e);
    }
  }

  /** Ends the stream for {@code e}: cancellation and engine failures become its last event; the rest is rethrown. */
  private StreamEvent failed(Throwable e) {
    if (e instanceof CancellationException) {
      return stopped();
    }
    if (e instanceof EdgeException refused) { // an engine that forwards (engine.type: upstream) says what failed
      return end(new StreamEvent.Failed(refused), refused.kind().metricName());
    }
    if (e instanceof EngineException) {
      log.error("request {}: generation failed", served.requestId(), e);
      return end(new StreamEvent.Failed(EdgeException.internal("the engine failed while generating", e)), "engine_error");
    }
    log.error("request {}: unexpected failure", served.requestId(), e);
    end(new StreamEvent.Failed(EdgeException.internal("internal error", e)), "internal");
    if (e instanceof Error error) {
      throw error;
    }
    throw (RuntimeException) e;
  }

  private StreamEvent stopped() {
    EdgeException why = whyStopped();
    return end(new StreamEvent.Failed(why), why.kind().metricName());
  }

  private StreamEvent done(Completion completion) {
    Usage usage = new Usage(completion.promptTokens(), completion.completionTokens(), Usage.CACHED_UNREPORTED);
    span.setAttribute(EdgeSpans.INPUT_TOKENS, (long) completion.promptTokens());
    span.setAttribute(EdgeSpans.OUTPUT_TOKENS, (long) completion.completionTokens());
    span.setAttribute(EdgeSpans.FINISH_REASONS, List.of(completion.finishReason().wireName()));
    accounting.generated(job, completion, firstTokenAt);
    if (shadowText != null) {
      accounting.answeredLocally(job, attempt.plan().sampling(), shadowText.toString());
    }
    if (chunks != null) {
      accounting.store(attempt.plan().storeAs().orElseThrow(), CachedCompletion.of(chunks, completion.finishReason(),
          completion.promptTokens(), completion.completionTokens()));
    }
    return end(new StreamEvent.Done(completion.finishReason(), usage), "none");
  }

  private StreamEvent end(StreamEvent event, String errorType) {
    terminal = event;
    if (event instanceof StreamEvent.Failed failed) {
      EdgeSpans.failed(span, failed.error());
    }
    span.end();
    release(errorType);
    return event;
  }

  private void release(String errorType) {
    if (released) {
      return;
    }
    released = true;
    try {
      if (generation != null) {
        generation.close();
      }
    } finally {
      ticket.close();
      if (countsTheRequest) {
        // the decision's route: a degraded answer is counted as edge-degraded, as its x-infermesh-route says
        accounting.ended(this, job, served.route().route().wireName(), errorType);
      } else {
        accounting.left(this);
      }
    }
  }

  /** The GenAI span of the local generation ({@code "chat <model>"}), started when the slot is taken. */
  private Span generationSpan() {
    return tracer.spanBuilder(EdgeSpans.generation(job.request().operation(), served.model())).setParent(traceParent)
        .setAttribute(EdgeSpans.OPERATION, job.request().operation().semanticName())
        .setAttribute(EdgeSpans.REQUEST_MODEL, job.request().model())
        .setAttribute(EdgeSpans.RESPONSE_MODEL, served.model())
        .setAttribute(EdgeSpans.MODEL_VERSION, served.modelVersion())
        .setAttribute(EdgeSpans.MAX_TOKENS, (long) attempt.plan().sampling().maxTokens())
        .setAttribute(EdgeSpans.ROUTE_TAKEN, served.route().route().wireName())
        .setAttribute(EdgeSpans.ROUTE_REASON, served.route().reason())
        .startSpan();
  }

  private EdgeException whyStopped() {
    EdgeException abort = abortReason;
    if (abort != null) {
      return abort;
    }
    if (cancelled) {
      return EdgeException.cancelled("the client went away");
    }
    return EdgeException.deadlineExceeded("the request did not finish within its deadline of "
        + Duration.ofNanos(attempt.deadline() - job.window().arrived()).toMillis() + " ms");
  }

  private boolean shouldStop() {
    return cancelled || abortReason != null || accounting.now() - attempt.deadline() > 0;
  }

  @Override
  public void cancel() {
    cancelled = true;
  }

  /** Stops this request for {@code reason} (shutdown); its reader receives it as {@link StreamEvent.Failed}. */
  @Override
  public void abort(EdgeException reason) {
    abortReason = reason;
  }

  @Override
  public void close() {
    if (terminal == null) {
      cancelled = true;
      end(new StreamEvent.Failed(EdgeException.cancelled("the client went away")), "cancelled");
    }
  }

  @Override
  public String toString() {
    return "GenerationTask{" + served.requestId() + "}";
  }
}
