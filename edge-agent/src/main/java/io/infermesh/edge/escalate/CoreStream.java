package io.infermesh.edge.escalate;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.Served;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.edge.serve.Usage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One escalated call, read as a {@link CompletionStream}: the core's chunks become deltas as they
 * arrive (flow-controlled: a few chunks ahead of the reader). When the core fails and a fallback
 * is allowed, the rest of the answer comes from the edge, continuing from the text so far, and
 * {@link #served()} turns {@code edge-degraded} ({@code core-failed} before the first token,
 * {@code core-failed-midstream} after).
 *
 * <p>Per chunk the transport thread (the channel runs callbacks directly on it) only enqueues,
 * asks the core for one more chunk while fewer than {@value #PREFETCH} wait (a request from the
 * transport thread runs inline; one from the reader would wake the event loop each time; the
 * reader asks only after the transport stopped on a full inbox), and unparks the reader if it is
 * parked. A reader that wants only the whole answer ({@link #readRest}) is unparked once, at the
 * end, however many chunks the answer has. Whatever is queued when the reader wakes is handed out
 * without waiting ({@link #poll()}).
 *
 * <p>{@link #next()}, {@link #poll()}, {@link #readRest} and {@link #close()} are confined to the
 * reader; {@link #cancel()} may come from any thread; gRPC callbacks (serialized by gRPC) only
 * enqueue, request and unpark, never block.
 */
final class CoreStream implements CompletionStream {
  private static final Logger log = LoggerFactory.getLogger(CoreStream.class);
  /** Chunks the core may send ahead of the reader. */
  static final int PREFETCH = 8;
  private static final Object COMPLETED = new Object();

  private final Escalator.Call call;
  private final CircuitBreaker breaker;
  private final Escalator.Fallback fallback;
  // chunks, then a Status or COMPLETED: fewer than 2 * PREFETCH chunks while the reader takes them
  // one by one, at most the rest of the answer (bounded by max_tokens) once it reads it whole
  private final ConcurrentLinkedQueue<Object> inbox = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queuedChunks = new AtomicInteger();
  /** Set when the transport stopped requesting because PREFETCH chunks waited; who clears it requests one. */
  private final AtomicBoolean stalled = new AtomicBoolean();
  private volatile Thread parked; // the reader while it waits for the inbox
  private volatile boolean endArrived; // the last chunk, an error or the completion is in the inbox
  private volatile Thread endWatcher; // the reader while it waits for the end only
  private volatile boolean wholeAnswer; // the reader wakes only for the end
  private volatile int wakeups; // written by the transport callbacks only
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
        boolean last = WireChunks.finishes(chunk);
        if (!last) {
          if (queuedChunks.incrementAndGet() < PREFETCH || wholeAnswer) {
            requests.request(1);
          } else {
            stalled.set(true);
            if (queuedChunks.get() < PREFETCH && stalled.compareAndSet(true, false)) {
              requests.request(1); // the reader took chunks before it could see the flag
            }
          }
        }
        if (last || !wholeAnswer) {
          wake();
        }
        if (last) {
          ended();
        }
      }

      @Override
      public void onError(Throwable t) {
        inbox.add(Status.fromThrowable(t));
        wake();
        ended();
      }

      @Override
      public void onCompleted() {
        inbox.add(COMPLETED);
        wake();
        ended();
      }
    });
  }

  /** Unparks the reader if it is parked on the inbox. Transport thread only. */
  private void wake() {
    Thread t = parked;
    if (t != null) {
      wakeups++; // single writer: gRPC serializes the callbacks
      LockSupport.unpark(t);
    }
  }

  /** Marks the end as arrived and unparks a reader in {@link #awaitEnd}. Transport thread only. */
  private void ended() {
    endArrived = true;
    Thread t = endWatcher;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }

  /** Waits for the end only: chunks arriving meanwhile do not wake the reader. */
  @Override
  public void awaitEnd(long nanos) throws InterruptedException {
    if (local != null) {
      local.awaitEnd(nanos);
      return;
    }
    long deadline = System.nanoTime() + nanos;
    endWatcher = Thread.currentThread();
    try {
      while (!endArrived && terminal == null && pendingEnd == null) { // published before the check
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        LockSupport.parkNanos(this, left);
        if (Thread.interrupted()) {
          throw new InterruptedException();
        }
      }
    } finally {
      endWatcher = null;
    }
  }

  /** How often the transport unparked the reader (for tests). */
  int wakeups() {
    return wakeups;
  }

  /** Chunks waiting for the reader (for tests). */
  int queued() {
    return queuedChunks.get();
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
      Object item = take();
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

  /**
   * The whole rest of the answer: the transport asks the core for every chunk without waiting for
   * this reader, and unparks it only for the end (or a failure, or the deadline).
   */
  @Override
  public StreamEvent readRest(StringBuilder text) throws InterruptedException {
    wholeAnswer = true;
    if (stalled.compareAndSet(true, false)) {
      ClientCallStreamObserver<GenerateRequest> r = requests;
      if (r != null) {
        r.request(1);
      }
    }
    while (true) {
      StreamEvent event = poll();
      if (event == null) {
        event = next(); // parks until the end: the transport does not wake it per chunk now
      }
      if (!(event instanceof StreamEvent.Delta delta)) {
        return event;
      }
      text.append(delta.text());
    }
  }

  /**
   * The next inbox item, parking until one arrives or the deadline passes (then null).
   *
   * @throws InterruptedException when the reader is interrupted while it waits
   */
  private Object take() throws InterruptedException {
    Object item = inbox.poll();
    if (item != null) {
      return item;
    }
    parked = Thread.currentThread();
    try {
      // published before the re-check: an item added after it sees the reader and unparks it
      while ((item = inbox.poll()) == null) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return null;
        }
        LockSupport.parkNanos(this, left);
        if (Thread.interrupted()) {
          throw new InterruptedException();
        }
      }
      return item;
    } finally {
      parked = null;
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
      if (!WireChunks.finishes(chunk)) {
        taken();
      }
      if (chunk.hasServedBy() && served.modelVersion().isEmpty()) {
        served = WireChunks.served(call, chunk);
      }
      if (WireChunks.finishes(chunk)) {
        success();
        StreamEvent done = WireChunks.done(chunk);
        if (!chunk.getText().isEmpty() || chunk.getLogprobsCount() > 0) {
          // a final chunk with text: deliver the text now, the end on the next call
          pendingEnd = done;
          return delta(chunk);
        }
        return end(done);
      }
      return chunk.getText().isEmpty() && chunk.getLogprobsCount() == 0 ? null : delta(chunk);
    }
    if (item == COMPLETED) {
      // the stream ended without a finish reason: treat as a failure of the core
      return failed(Status.INTERNAL.withDescription("the core ended the stream without a finish reason"));
    }
    return failed((Status) item);
  }

  /** One chunk left the inbox: if the transport stalled on a full inbox, ask the core for one more. */
  private void taken() {
    if (queuedChunks.decrementAndGet() < PREFETCH && stalled.compareAndSet(true, false)) {
      ClientCallStreamObserver<GenerateRequest> r = requests;
      if (r != null) {
        r.request(1);
      }
    }
  }

  private StreamEvent delta(GenerateChunk chunk) {
    partial.append(chunk.getText());
    completionTokens += Math.max(1, chunk.getTokenIdsCount());
    return WireChunks.delta(chunk);
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
