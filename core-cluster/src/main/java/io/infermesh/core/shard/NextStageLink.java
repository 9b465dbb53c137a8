package io.infermesh.core.shard;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.infermesh.api.v1.ShardGrpc;
import io.infermesh.api.v1.StageHello;
import io.infermesh.api.v1.StageReady;
import io.infermesh.api.v1.StageRelease;
import io.infermesh.api.v1.StageReply;
import io.infermesh.api.v1.StageRequest;
import io.infermesh.api.v1.StepResult;
import io.infermesh.core.status.CoreException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code Shard.Forward} stream to the next stage: says hello, then carries steps down and
 * their results back, matched by step id. A step that gets no answer within the step timeout, a
 * hello not answered within the hello timeout, or a stream that breaks, ends the link: every step
 * still pending fails with UNAVAILABLE and the {@link Listener} hears it once. A link is used once;
 * reconnecting means a new link.
 *
 * <p>Thread-safe: steps may be sent from one thread while results arrive on gRPC's; the stream is
 * written under {@code this}. Callbacks run without the lock held.
 */
final class NextStageLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NextStageLink.class);

  /** Hears the link come up (the rest of the pipeline answered the hello) and go down. */
  interface Listener {
    void ready(StageReady ready);

    void down(Status status);
  }

  /** Hears one step's result. Called once, on any thread. */
  interface StepCallback {
    void result(StepResult result);

    void failed(CoreException failure);
  }

  private enum State { CONNECTING, READY, DOWN }

  private final String target;
  private final Listener listener;
  private final LongSupplier nanoTime;
  private final long stepTimeoutNanos;
  @GuardedBy("this")
  private final Map<Long, Pending> pending = new LinkedHashMap<>(); // step order
  @GuardedBy("this")
  private ClientCallStreamObserver<StageRequest> requests;
  @GuardedBy("this")
  private State state = State.CONNECTING;
  @GuardedBy("this")
  private ScheduledFuture<?> watchdog;

  private record Pending(StepCallback callback, long sentNanos) {}

  private NextStageLink(String target, Listener listener, LongSupplier nanoTime, long stepTimeoutNanos) {
    this.target = target;
    this.listener = listener;
    this.nanoTime = nanoTime;
    this.stepTimeoutNanos = stepTimeoutNanos;
  }

  /**
   * Opens the stream on {@code stub} and sends {@code hello}. The link is down if no ready reply
   * comes within {@code helloTimeoutMillis}.
   *
   * @param target the next stage's address, for messages
   * @param timers runs the hello and step timeouts
   */
  static NextStageLink open(ShardGrpc.ShardStub stub, String target, StageHello hello, Listener listener,
      ScheduledExecutorService timers, LongSupplier nanoTime, long helloTimeoutMillis, long stepTimeoutMillis) {
    NextStageLink link = new NextStageLink(target, Objects.requireNonNull(listener, "listener"), nanoTime,
        TimeUnit.MILLISECONDS.toNanos(stepTimeoutMillis));
    stub.forward(link.new Responses());
    synchronized (link) {
      link.requests.onNext(StageRequest.newBuilder().setHello(hello).build());
    }
    long period = Math.max(10, Math.min(helloTimeoutMillis, stepTimeoutMillis) / 4);
    long started = nanoTime.getAsLong();
    ScheduledFuture<?> watchdog = timers.scheduleWithFixedDelay(() -> link.check(started, helloTimeoutMillis), period,
        period, TimeUnit.MILLISECONDS);
    synchronized (link) {
      link.watchdog = watchdog;
      if (link.state == State.DOWN) {
        watchdog.cancel(false);
      }
    }
    return link;
  }

  /** Whether the rest of the pipeline answered the hello and the stream is up. */
  synchronized boolean ready() {
    return state == State.READY;
  }

  /**
   * Sends one step (its {@link StageRequest} messages); {@code callback} hears its result. Fails the
   * callback at once with UNAVAILABLE if the link is not ready.
   */
  void send(long stepId, List<StageRequest> messages, StepCallback callback) {
    CoreException refused = null;
    synchronized (this) {
      if (state != State.READY) {
        refused = unavailable("is not connected");
      } else {
        pending.put(stepId, new Pending(callback, nanoTime.getAsLong()));
        try {
          messages.forEach(requests::onNext);
        } catch (RuntimeException e) {
          pending.remove(stepId);
          refused = unavailable("could not be sent to: " + e.getMessage());
        }
      }
    }
    if (refused != null) {
      callback.failed(refused);
    }
  }

  /** Tells the next stages these requests are done (ignored while the link is not ready). */
  synchronized void release(Collection<String> requestIds) {
    if (state == State.READY && !requestIds.isEmpty()) {
      requests.onNext(StageRequest.newBuilder()
          .setRelease(StageRelease.newBuilder().addAllRequestIds(requestIds)).build());
    }
  }

  /** Steps sent and not answered yet. */
  synchronized int pendingSteps() {
    return pending.size();
  }

  /** Ends the stream (cancelling it); pending steps fail with UNAVAILABLE. */
  @Override
  public void close() {
    if (!isDown()) {
      stream().cancel("stage link closed", null);
    }
    down(Status.UNAVAILABLE.withDescription("the link to the next stage was closed"));
  }

  private void check(long startedNanos, long helloTimeoutMillis) {
    long now = nanoTime.getAsLong();
    Status timeout = null;
    synchronized (this) {
      if (state == State.CONNECTING && now - startedNanos > TimeUnit.MILLISECONDS.toNanos(helloTimeoutMillis)) {
        timeout = Status.UNAVAILABLE.withDescription("next stage " + target + " did not answer the hello in "
            + helloTimeoutMillis + " ms");
      } else if (state == State.READY && !pending.isEmpty()
          && now - pending.values().iterator().next().sentNanos() > stepTimeoutNanos) {
        timeout = Status.UNAVAILABLE.withDescription("next stage " + target + " did not answer a step in "
            + TimeUnit.NANOSECONDS.toMillis(stepTimeoutNanos) + " ms");
      }
    }
    if (timeout != null) {
      log.warn("{}; dropping the link", timeout.getDescription());
      stream().cancel(timeout.getDescription(), null);
      down(timeout);
    }
  }

  private synchronized boolean isDown() {
    return state == State.DOWN;
  }

  private synchronized ClientCallStreamObserver<StageRequest> stream() {
    return requests;
  }

  private void down(Status status) {
    List<Pending> failed;
    synchronized (this) {
      if (state == State.DOWN) {
        return;
      }
      state = State.DOWN;
      failed = new ArrayList<>(pending.values());
      pending.clear();
      if (watchdog != null) {
        watchdog.cancel(false);
      }
    }
    CoreException e = unavailable("failed: " + describe(status));
    for (Pending p : failed) {
      p.callback().failed(e);
    }
    listener.down(status);
  }

  private CoreException unavailable(String what) {
    return CoreException.unavailable("pipeline stage " + target + " " + what);
  }

  private static String describe(Status s) {
    return s.getCode() + (s.getDescription() == null ? "" : " (" + s.getDescription() + ")");
  }

  /** The stream's inbound side. */
  private final class Responses implements ClientResponseObserver<StageRequest, StageReply> {
    @Override
    public void beforeStart(ClientCallStreamObserver<StageRequest> r) {
      synchronized (NextStageLink.this) {
        requests = r;
      }
    }

    @Override
    public void onNext(StageReply reply) {
      switch (reply.getKindCase()) {
        case READY -> {
          boolean first;
          synchronized (NextStageLink.this) {
            first = state == State.CONNECTING;
            if (first) {
              state = State.READY;
            }
          }
          if (first) {
            listener.ready(reply.getReady());
          }
        }
        case RESULT -> {
          Pending p;
          synchronized (NextStageLink.this) {
            p = pending.remove(reply.getResult().getStepId());
          }
          if (p != null) {
            p.callback().result(reply.getResult());
          } else {
            log.warn("next stage {} answered unknown step {}", target, reply.getResult().getStepId());
          }
        }
        default -> log.warn("next stage {} sent an empty reply", target);
      }
    }

    @Override
    public void onError(Throwable t) {
      down(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      down(Status.UNAVAILABLE.withDescription("next stage " + target + " ended the stream"));
    }
  }
}
