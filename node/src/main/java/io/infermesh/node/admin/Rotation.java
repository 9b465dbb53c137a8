package io.infermesh.node.admin;

import static java.util.Objects.requireNonNull;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A node's place in rotation: whether an operator drained it, and how many calls it is running.
 * {@link #gate} is a server interceptor for the node's serving methods: while drained it refuses
 * new calls with UNAVAILABLE (so callers retry elsewhere) and it counts the calls in flight, so
 * {@code Admin.Drain} can say when the node is safe to stop. Readiness reads {@link #drained()}
 * (health NOT_SERVING, /readyz 503, a failing Consul check). Thread-safe.
 */
public final class Rotation {
  private final AtomicBoolean drained = new AtomicBoolean();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Runnable onChange;

  /** {@code onChange} runs after every drain or undrain (e.g. to re-report health); it must not block. */
  public Rotation(Runnable onChange) {
    this.onChange = requireNonNull(onChange, "onChange");
  }

  /** Whether an operator drained this node. */
  public boolean drained() {
    return drained.get();
  }

  /** Drains ({@code true}) or undrains the node; idempotent. */
  public void drain(boolean drain) {
    drained.set(drain);
    onChange.run();
  }

  /** Calls through {@link #gate} running now. */
  public int inFlight() {
    return inFlight.get();
  }

  /**
   * Counts every call it sees; while drained refuses those to {@code refused} (full method names)
   * with UNAVAILABLE. Others (e.g. listings) pass even while drained.
   */
  public ServerInterceptor gate(Set<String> refused) {
    Set<String> methods = Set.copyOf(refused);
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        if (drained.get() && methods.contains(call.getMethodDescriptor().getFullMethodName())) {
          call.close(Status.UNAVAILABLE.withDescription("this node is drained by an operator; retry elsewhere"),
              new Metadata());
          return new ServerCall.Listener<>() {};
        }
        inFlight.incrementAndGet();
        AtomicBoolean done = new AtomicBoolean();
        Runnable end = () -> {
          if (done.compareAndSet(false, true)) {
            inFlight.decrementAndGet();
          }
        };
        try {
          return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            @Override
            public void onComplete() {
              end.run();
              super.onComplete();
            }

            @Override
            public void onCancel() {
              end.run();
              super.onCancel();
            }
          };
        } catch (RuntimeException e) {
          end.run();
          throw e;
        }
      }
    };
  }
}
