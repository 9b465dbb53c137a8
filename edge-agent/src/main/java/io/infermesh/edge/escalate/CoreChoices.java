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
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One escalated call for several choices ({@code GenerateRequest.n}): the core prefills the prompt
 * once and streams the choices interleaved; this splits its chunks by {@code index} into one {@link
 * CompletionStream} per choice. Choice 0 is the stream {@link #start} returns; choice {@code i} is
 * its {@link CompletionStream#choice(int) choice(i)}.
 *
 * <p>The transport reads ahead without flow control: a reader takes the choices one after another
 * and the later ones must not stall the earlier, so each choice's chunks wait in its own queue
 * (at most its max_tokens chunks). The call is cancelled once every choice's stream was closed
 * before its end (the caller went away). When the core fails before sending anything and a
 * fallback is allowed, choice 0 is answered by the edge (as a single call would be) and the other
 * choices are not offered ({@code choice(i)} is empty: the caller asks for them one by one); a
 * failure after the first chunk fails every unfinished choice.
 *
 * <p>Each choice's stream is confined to its reader ({@link CompletionStream#cancel()} from any
 * thread); gRPC callbacks only enqueue.
 */
final class CoreChoices {
  private static final Logger log = LoggerFactory.getLogger(CoreChoices.class);
  private static final Object COMPLETED = new Object();

  private final Escalator.Call call;
  private final CircuitBreaker breaker;
  private final Escalator.Fallback fallback;
  private final ChoiceStream[] choices;
  private final AtomicInteger unreleased; // choice streams neither ended nor closed
  private final AtomicBoolean recorded = new AtomicBoolean(); // the breaker heard this call's outcome
  private final long startNanos = System.nanoTime();
  private final long deadlineNanos;
  private volatile ClientCallStreamObserver<GenerateRequest> requests;
  private volatile boolean anyChunk;
  private volatile boolean fellBack; // choice 0 went to the edge: the others are not offered
  private volatile boolean abandoned; // a choice was closed before its end
  private volatile Served served;

  private CoreChoices(Escalator.Call call, CircuitBreaker breaker, Escalator.Fallback fallback, int n) {
    this.call = call;
    this.breaker = breaker;
    this.fallback = fallback;
    this.choices = new ChoiceStream[n];
    for (int i = 0; i < n; i++) {
      choices[i] = new ChoiceStream(i);
    }
    this.unreleased = new AtomicInteger(n);
    this.served = new Served(call.requestId(), call.decision(), "core", "");
    // the gRPC deadline ends the call; a reader waits a little longer for that status
    this.deadlineNanos = startNanos + call.timeout().toNanos() + TimeUnit.SECONDS.toNanos(5);
  }

  /** Starts {@code request} (whose {@code n} is the number of choices); returns choice 0's stream. */
  static CompletionStream start(InferenceGrpc.InferenceStub stub, GenerateRequest request, Escalator.Call call,
      CircuitBreaker breaker, Escalator.Fallback fallback) {
    CoreChoices c = new CoreChoices(call, breaker, fallback, request.getN());
    if (!breaker.tryAcquirePermission()) {
      c.recorded.set(true);
      c.deliver(Status.UNAVAILABLE.withDescription("the core's circuit is open"));
      return c.choices[0];
    }
    stub.generate(request, c.new Observer());
    return c.choices[0];
  }

  private void deliver(Object end) {
    for (ChoiceStream s : choices) {
      s.inbox.add(end);
    }
  }

  /** Feeds the choices; gRPC serializes these callbacks. */
  private final class Observer implements ClientResponseObserver<GenerateRequest, GenerateChunk> {
    @Override
    public void beforeStart(ClientCallStreamObserver<GenerateRequest> r) {
      requests = r;
    }

    @Override
    public void onNext(GenerateChunk chunk) {
      anyChunk = true;
      if (chunk.hasServedBy() && served.modelVersion().isEmpty()) {
        served = WireChunks.served(call, chunk);
      }
      int i = chunk.getIndex();
      if (i < 0 || i >= choices.length) {
        String why = "the core sent choice " + i + " of " + choices.length;
        deliver(Status.INTERNAL.withDescription(why)); // before the cancel's own status: readers see why
        cancelCall(why);
        return;
      }
      choices[i].inbox.add(chunk);
    }

    @Override
    public void onError(Throwable t) {
      Status status = Status.fromThrowable(t);
      if (recorded.compareAndSet(false, true)) {
        if (CoreStream.coreFault(status.getCode())) {
          breaker.onError(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS, status.asRuntimeException());
        } else {
          breaker.releasePermission();
        }
      }
      deliver(status);
    }

    @Override
    public void onCompleted() {
      if (recorded.compareAndSet(false, true)) {
        breaker.onSuccess(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
      }
      deliver(COMPLETED);
    }
  }

  private void cancelCall(String why) {
    ClientCallStreamObserver<GenerateRequest> r = requests;
    if (r != null) {
      r.cancel(why, null);
    }
  }

  /** One choice of the call. */
  private final class ChoiceStream implements CompletionStream {
    final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>(); // chunks, then a Status or COMPLETED
    private final int index;
    private final AtomicBoolean released = new AtomicBoolean();
    private StreamEvent pendingEnd;
    private StreamEvent terminal;
    private volatile CompletionStream local; // choice 0 answered by the edge after the core failed; read by cancel()

    ChoiceStream(int index) {
      this.index = index;
    }

    @Override
    public Served served() {
      CompletionStream l = local;
      return l != null ? l.served() : served;
    }

    @Override
    public Optional<CompletionStream> choice(int i) {
      if (index != 0 || i <= 0 || i >= choices.length || fellBack) {
        return Optional.empty();
      }
      return Optional.of(choices[i]);
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
        Object item = left > 0 ? inbox.poll(left, TimeUnit.NANOSECONDS) : inbox.poll();
        if (item == null) {
          cancelCall("the edge gave up waiting");
          return end(new StreamEvent.Failed(EdgeException.deadlineExceeded("no answer from the core in time")));
        }
        StreamEvent e = handle(item);
        if (e != null) {
          return e;
        }
      }
    }

    @Override
    public StreamEvent poll() {
      if (terminal != null) {
        return null;
      }
      if (local != null) {
        StreamEvent e = local.poll();
        return e == null ? null : fromLocal(e);
      }
      if (pendingEnd != null) {
        return end(pendingEnd);
      }
      Object item;
      while ((item = inbox.poll()) != null) {
        StreamEvent e = handle(item);
        if (e != null) {
          return e;
        }
      }
      return null;
    }

    /** One inbox item as an event, or null for a chunk with nothing to show. */
    private StreamEvent handle(Object item) {
      if (item instanceof GenerateChunk chunk) {
        StreamEvent.Delta delta = WireChunks.delta(chunk);
        if (!WireChunks.finishes(chunk)) {
          return delta;
        }
        StreamEvent done = WireChunks.done(chunk);
        if (delta != null) {
          pendingEnd = done; // the text now, the end on the next call
          return delta;
        }
        return end(done);
      }
      if (item == COMPLETED) {
        return end(new StreamEvent.Failed(EscalationErrors.toEdge(Status.INTERNAL.withDescription(
            "the core ended the stream without finishing choice " + index))));
      }
      return failed((Status) item);
    }

    private StreamEvent failed(Status status) {
      if (released.get()) {
        return end(new StreamEvent.Failed(EdgeException.cancelled("the client went away")));
      }
      if (index == 0 && !anyChunk && fallback != null && CoreStream.coreFault(status.getCode())) {
        log.warn("request {}: the core failed ({}: {}) before its first chunk; the edge answers choice 0 and the"
            + " other choices one by one", call.requestId(), status.getCode(), status.getDescription());
        fellBack = true;
        for (int i = 1; i < choices.length; i++) {
          choices[i].release(false); // never offered
        }
        try {
          local = fallback.continueAfter("", 0, new RouteDecision(Route.EDGE_DEGRADED, "core-failed"));
        } catch (EdgeException e) {
          return end(new StreamEvent.Failed(e));
        }
        return null;
      }
      return end(new StreamEvent.Failed(EscalationErrors.toEdge(status)));
    }

    private StreamEvent fromLocal(StreamEvent event) {
      return event instanceof StreamEvent.Delta ? event : end(event);
    }

    private StreamEvent end(StreamEvent event) {
      terminal = event;
      release(false);
      return event;
    }

    /**
     * This choice needs the call no more ({@code early}: closed before its end). Once no choice
     * needs it and one was dropped early, the call is cancelled.
     */
    void release(boolean early) {
      if (early) {
        abandoned = true;
      }
      if (released.compareAndSet(false, true) && unreleased.decrementAndGet() == 0 && abandoned) {
        cancelCall("the client went away");
      }
    }

    @Override
    public void cancel() {
      CompletionStream l = local;
      if (l != null) {
        l.cancel();
      }
      release(true);
    }

    @Override
    public void close() {
      if (terminal == null) {
        cancel();
        if (local != null) {
          local.close();
        }
        terminal = new StreamEvent.Failed(EdgeException.cancelled("the client went away"));
      }
    }

    @Override
    public String toString() {
      return "CoreChoices{" + call.requestId() + ", choice " + index + "}";
    }
  }
}
