package io.infermesh.edge.escalate;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.Served;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.edge.serve.Usage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One escalated call, read as a {@link CompletionStream}: the core's chunks become deltas as they
 * arrive (flow-controlled: a few chunks ahead of the reader). When the core fails and a fallback
 * is allowed, the rest of the answer comes from the edge, continuing from the text so far, and
 * {@link #served()} turns {@code edge-degraded} ({@code core-failed} before the first token,
 * {@code core-failed-midstream} after).
 *
 * <p>{@link #next()}, {@link #poll()} and {@link #close()} are confined to the reader; {@link
 * #cancel()} may come from any thread; gRPC callbacks only enqueue.
 */
final class CoreStream implements CompletionStream {
  private static final Logger log = LoggerFactory.getLogger(CoreStream.class);
  private static final int PREFETCH = 8;
  private static final Object COMPLETED = new Object();

  private final Escalator.Call call;
  private final CircuitBreaker breaker;
  private final Escalator.Fallback fallback;
  private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>(); // bounded by PREFETCH via flow control
  private final long startNanos = System.nanoTime();
  private final long deadlineNanos;

  private volatile ClientCallStreamObserver<GenerateRequest> requests;
  private volatile boolean cancelled;
  private volatile Served served;

  // confined to the reader
  private final StringBuilder partial = new StringBuilder();
  private int completionTokens;
  private boolean recorded;
  private CompletionStream local;
  private StreamEvent pendingEnd;
  private StreamEvent terminal;

  CoreStream(Escalator.Call call, CircuitBreaker breaker, Escalator.Fallback fallback) {
    this.call = call;
    this.breaker = breaker;
    this.fallback = fallback;
    this.served = new Served(call.requestId(), call.decision(), "core", "");
    // the gRPC deadline ends the call; the reader waits a little longer for that status
    this.deadlineNanos = startNanos + call.timeout().toNanos() + TimeUnit.SECONDS.toNanos(5);
  }

  void start(InferenceGrpc.InferenceStub stub, GenerateRequest request) {
    if (!breaker.tryAcquirePermission()) {
      recorded = true;
      inbox.add(Status.UNAVAILABLE.withDescription("the core's circuit is open"));
      return;
    }
    stub.generate(request, new ClientResponseObserver<GenerateRequest, GenerateChunk>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<GenerateRequest> r) {
        requests = r;
        r.disableAutoRequestWithInitial(PREFETCH);
      }

      @Override
      public void onNext(GenerateChunk chunk) {
        inbox.add(chunk);
      }

      @Override
      public void onError(Throwable t) {
        inbox.add(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        inbox.add(COMPLETED);
      }
    });
  }

  @Override
  public Served served() {
    return served;
  }

  @Override
  public StreamEvent next() throws InterruptedException {
    while (true) {
      if (terminal != null) {
        return terminal;
      }
      if (local != null) {
        return fromLocal(local.next());
      }
      if (pendingEnd != null) {
        return end(pendingEnd);
      }
      long left = deadlineNanos - System.nanoTime();
      Object item = left > 0 ? inbox.poll(left, TimeUnit.NANOSECONDS) : null;
      if (item == null) {
        item = Status.DEADLINE_EXCEEDED.withDescription("no answer from the core in time");
        cancelCall("the edge gave up waiting");
      }
      StreamEvent event = handle(item);
      if (event != null) {
        return event;
      }
    }
  }

  @Override
  public StreamEvent poll() {
    if (terminal != null || local != null) {
      return local != null && terminal == null ? pollLocal() : null;
    }
    if (pendingEnd != null) {
      return end(pendingEnd);
    }
    Object item;
    while ((item = inbox.poll()) != null) {
      StreamEvent event = handle(item);
      if (event != null) {
        return event;
      }
      if (local != null) {
        return pollLocal();
      }
    }
    return null;
  }

  private StreamEvent pollLocal() {
    StreamEvent e = local.poll();
    return e == null ? null : fromLocal(e);
  }

  /** One inbox item as an event, or null for a chunk with nothing to show. */
  private StreamEvent handle(Object item) {
    if (item instanceof GenerateChunk chunk) {
      ClientCallStreamObserver<GenerateRequest> r = requests;
      if (r != null) {
        r.request(1);
      }
      if (chunk.hasServedBy() && served.modelVersion().isEmpty()) {
        served = new Served(call.requestId(), call.decision(), chunk.getServedBy().getModel(),
            chunk.getServedBy().getModelVersion());
      }
      if (chunk.getFinishReason() != io.infermesh.api.v1.FinishReason.FINISH_REASON_UNSPECIFIED) {
        success();
        var u = chunk.getUsage();
        FinishReason finish = chunk.getFinishReason() == io.infermesh.api.v1.FinishReason.FINISH_REASON_LENGTH
            ? FinishReason.LENGTH : FinishReason.STOP;
        StreamEvent done = new StreamEvent.Done(finish, new Usage(u.getPromptTokens(), u.getCompletionTokens(),
            u.getCachedTokens()));
        if (!chunk.getText().isEmpty()) {
          // a final chunk with text: deliver the text now, the end on the next call
          pendingEnd = done;
          return delta(chunk);
        }
        return end(done);
      }
      return chunk.getText().isEmpty() ? null : delta(chunk);
    }
    if (item == COMPLETED) {
      // the stream ended without a finish reason: treat as a failure of the core
      return failed(Status.INTERNAL.withDescription("the core ended the stream without a finish reason"));
    }
    return failed((Status) item);
  }

  private StreamEvent delta(GenerateChunk chunk) {
    partial.append(chunk.getText());
    completionTokens += Math.max(1, chunk.getTokenIdsCount());
    return new StreamEvent.Delta(chunk.getText());
  }

  private StreamEvent failed(Status status) {
    if (cancelled) {
      release();
      return end(new StreamEvent.Failed(EdgeException.cancelled("the client went away")));
    }
    boolean coreFault = coreFault(status.getCode());
    if (!recorded) {
      recorded = true;
      if (coreFault) {
        breaker.onError(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS, status.asRuntimeException());
      } else {
        breaker.releasePermission();
      }
    }
    if (coreFault && fallback != null) {
      RouteDecision degraded = new RouteDecision(Route.EDGE_DEGRADED,
          partial.length() == 0 ? "core-failed" : "core-failed-midstream");
      log.warn("request {}: the core failed ({}: {}) after {} tokens; the edge finishes the answer",
          call.requestId(), status.getCode(), status.getDescription(), completionTokens);
      try {
        local = fallback.continueAfter(partial.toString(), completionTokens, degraded);
      } catch (EdgeException e) {
        return end(new StreamEvent.Failed(e));
      }
      served = local.served();
      return null;
    }
    return end(new StreamEvent.Failed(EscalationErrors.toEdge(status)));
  }

  private StreamEvent fromLocal(StreamEvent event) {
    if (event instanceof StreamEvent.Done done) {
      Usage u = done.usage();
      return end(new StreamEvent.Done(done.finishReason(),
          new Usage(u.promptTokens(), u.completionTokens() + completionTokens, u.cachedTokens())));
    }
    if (event instanceof StreamEvent.Failed) {
      return end(event);
    }
    return event;
  }

  /** Whether a status says the core (or the link) failed, as opposed to the request being wrong. */
  static boolean coreFault(Status.Code code) {
    return switch (code) {
      case UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED, ABORTED, DATA_LOSS,
          UNAUTHENTICATED, PERMISSION_DENIED, UNIMPLEMENTED -> true;
      default -> false;
    };
  }

  private void success() {
    if (!recorded) {
      recorded = true;
      breaker.onSuccess(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void release() {
    if (!recorded) {
      recorded = true;
      breaker.releasePermission();
    }
  }

  private StreamEvent end(StreamEvent event) {
    terminal = event;
    return event;
  }

  private void cancelCall(String why) {
    ClientCallStreamObserver<GenerateRequest> r = requests;
    if (r != null) {
      r.cancel(why, null);
    }
  }

  @Override
  public void cancel() {
    cancelled = true;
    cancelCall("the client went away");
    CompletionStream l = local;
    if (l != null) {
      l.cancel();
    }
  }

  @Override
  public void close() {
    if (terminal == null) {
      cancel();
      if (local != null) {
        local.close();
      }
      release();
      terminal = new StreamEvent.Failed(EdgeException.cancelled("the client went away"));
    }
  }

  @Override
  public String toString() {
    return "CoreStream{" + call.requestId() + "}";
  }
}
