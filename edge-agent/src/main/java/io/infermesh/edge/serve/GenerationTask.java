package io.infermesh.edge.serve;

import com.github.benmanes.caffeine.cache.Ticker;
import io.infermesh.edge.cache.CacheKey;
import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.Completion;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.EngineException;
import io.infermesh.edge.engine.Generation;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.RouteDecision;
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
 * decoding and no hand-off thread sits in between.
 *
 * <p>{@link #next()} and {@link #close()} are confined to the reading thread; {@link #cancel()}
 * and {@link #abort} may come from any thread and are noticed between tokens (or while waiting
 * for a slot).
 */
final class GenerationTask implements CompletionStream {
  private static final Logger log = LoggerFactory.getLogger(GenerationTask.class);

  private final CompletionService service;
  private final Engine engine;
  private final Ticker ticker;
  private final AdmissionQueue.Ticket ticket;
  private final Served served;
  private final Prompt prompt;
  private final SamplingParams sampling;
  private final CacheKey cacheKey;
  private final RequestContext context;
  private final long arrivedNanos;
  private final long deadlineNanos;

  private volatile boolean cancelled;
  private volatile EdgeException abortReason;

  // confined to the reader
  private Generation generation;
  private final List<String> chunks;
  private long firstTokenAt;
  private StreamEvent terminal;
  private boolean released;

  GenerationTask(CompletionService service, Engine engine, Ticker ticker, AdmissionQueue.Ticket ticket,
      String requestId, RouteDecision route, Prompt prompt, SamplingParams sampling, CacheKey cacheKey,
      RequestContext context, long arrivedNanos, long deadlineNanos) {
    this.service = service;
    this.engine = engine;
    this.ticker = ticker;
    this.ticket = ticket;
    this.served = new Served(requestId, route, engine.info().name(), engine.info().version());
    this.prompt = prompt;
    this.sampling = sampling;
    this.cacheKey = cacheKey;
    this.chunks = cacheKey != null ? new ArrayList<>() : null;
    this.context = context;
    this.arrivedNanos = arrivedNanos;
    this.deadlineNanos = deadlineNanos;
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
        if (!ticket.awaitSlot(this::shouldStop) || shouldStop()) {
          return stopped();
        }
        generation = engine.start(prompt, sampling, this::shouldStop);
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
            firstTokenAt = ticker.read();
          }
          if (chunks != null) {
            chunks.add(text);
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
    Usage usage = new Usage(completion.promptTokens(), completion.completionTokens(), 0);
    service.finished(context, completion, usage, arrivedNanos, firstTokenAt, ticker.read());
    if (chunks != null) {
      service.remember(cacheKey, CachedCompletion.of(chunks, completion.finishReason(), completion.promptTokens(),
          completion.completionTokens()));
    }
    return end(new StreamEvent.Done(completion.finishReason(), usage), "none");
  }

  private StreamEvent end(StreamEvent event, String errorType) {
    terminal = event;
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
      service.released(this, context, errorType, arrivedNanos);
    }
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
        + Duration.ofNanos(deadlineNanos - arrivedNanos).toMillis() + " ms");
  }

  private boolean shouldStop() {
    return cancelled || abortReason != null || ticker.read() - deadlineNanos > 0;
  }

  @Override
  public void cancel() {
    cancelled = true;
  }

  /** Stops this request for {@code reason} (shutdown); its reader receives it as {@link StreamEvent.Failed}. */
  void abort(EdgeException reason) {
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
