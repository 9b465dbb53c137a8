package io.infermesh.core.schedule;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.core.status.CoreException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives a {@link Scheduler} and a {@link StepRunner} on one thread: plan a step, run it, feed the
 * sampled tokens back, deliver events — then again, admitting new requests between steps. With a
 * runner that keeps several plans in flight (a pipeline), the loop plans the next micro-batch over
 * the sequences not in flight while earlier ones are still moving, splitting the work about evenly
 * over {@link StepRunner#maxInFlight()} micro-batches.
 *
 * <p>Thread-safety: {@link #submit} and {@link #cancel} may be called from any thread; they take
 * the scheduler's lock briefly. The scheduler is only touched under {@code lock}; the engine runs
 * outside it, on the loop thread. Step completions may arrive on any thread: they are queued under
 * {@code lock} and applied by the loop thread. Listeners and the runner are only called from the
 * loop thread.
 */
public final class BatchLoop implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BatchLoop.class);
  private static final long IDLE_WAIT_MILLIS = 200;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition workArrived = lock.newCondition();
  @GuardedBy("lock")
  private final Scheduler scheduler;
  @GuardedBy("lock")
  private final ArrayDeque<Done> completions = new ArrayDeque<>();
  private final StepRunner runner;
  private final StepObserver observer;
  private final LongSupplier nanoTime;
  private final Map<String, GenerationListener> listeners = new ConcurrentHashMap<>();
  private final Thread thread;
  private volatile boolean closed;

  /** Notified after every step (for metrics). Called on the loop thread. */
  public interface StepObserver {
    StepObserver NONE = (plan, nanos) -> {};

    void onStep(StepPlan plan, long nanos);
  }

  /** A step's outcome waiting to be applied: {@code sampled} or {@code failure}. */
  private record Done(StepPlan plan, long startNanos, int[] sampled, int[][] accepted, Throwable failure) {}

  public BatchLoop(Scheduler scheduler, StepRunner runner, ThreadFactory threads, StepObserver observer) {
    this(scheduler, runner, threads, observer, System::nanoTime);
  }

  public BatchLoop(Scheduler scheduler, StepRunner runner, ThreadFactory threads, StepObserver observer,
      LongSupplier nanoTime) {
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.runner = Objects.requireNonNull(runner, "runner");
    this.observer = Objects.requireNonNull(observer, "observer");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.thread = threads.newThread(this::run);
  }

  /** Starts the loop thread. */
  public BatchLoop start() {
    thread.start();
    return this;
  }

  /**
   * Queues a request; {@code listener} hears its tokens and its end.
   *
   * @throws IllegalArgumentException if it can never run (see {@link Scheduler#submit})
   * @throws IllegalStateException if the loop is closed
   */
  public Admission submit(GenerationRequest request, GenerationListener listener) {
    lock.lock();
    try {
      if (closed) {
        throw CoreException.unavailable("the engine is shutting down; retry on another node");
      }
      listeners.put(request.id(), listener);
      Admission a;
      try {
        a = scheduler.submit(request);
      } catch (RuntimeException e) {
        listeners.remove(request.id());
        throw e;
      }
      if (a instanceof Admission.Rejected) {
        listeners.remove(request.id());
      } else {
        workArrived.signal();
      }
      return a;
    } finally {
      lock.unlock();
    }
  }

  /** Cancels a request; its blocks are free at once and its listener hears CANCELLED. */
  public void cancel(String requestId) {
    lock.lock();
    try {
      if (scheduler.cancel(requestId)) {
        workArrived.signal();
      }
    } finally {
      lock.unlock();
    }
  }

  /** Cancels one choice of a request (the others go on); its listener hears CANCELLED for it. */
  public void cancel(String requestId, int choice) {
    lock.lock();
    try {
      if (scheduler.cancel(requestId, choice)) {
        workArrived.signal();
      }
    } finally {
      lock.unlock();
    }
  }

  /** A snapshot for metrics. */
  public SchedulerStats stats() {
    lock.lock();
    try {
      return scheduler.stats();
    } finally {
      lock.unlock();
    }
  }

  /** Whether requests are waiting or running. */
  public boolean busy() {
    lock.lock();
    try {
      return scheduler.hasWork();
    } finally {
      lock.unlock();
    }
  }

  /** Whether the runner can run steps now (false while a pipeline stage is unreachable). */
  public boolean available() {
    return !closed && runner.available();
  }

  private void run() {
    int depth = Math.max(1, runner.maxInFlight());
    while (!closed) {
      StepPlan plan = null;
      List<SchedulerEvent> events;
      List<Done> applied;
      lock.lock();
      try {
        applied = applyCompletions();
        events = scheduler.drainEvents();
        if (scheduler.plansInFlight() < depth && scheduler.hasWork()) {
          // an even share of the work per micro-batch, so every stage of a pipeline stays busy
          int share = (scheduler.requests() + depth - 1) / depth;
          StepPlan p = scheduler.schedule(Math.max(1, Math.min(share, scheduler.config().maxBatchSize())));
          events = concat(events, scheduler.drainEvents());
          plan = p.isEmpty() ? null : p;
        }
        if (plan == null && events.isEmpty() && applied.isEmpty()) {
          awaitWork();
        }
      } finally {
        lock.unlock();
      }
      for (Done d : applied) {
        if (d.failure() == null) {
          observer.onStep(d.plan(), nanoTime.getAsLong() - d.startNanos());
        }
      }
      deliver(events);
      if (plan != null) {
        start(plan);
      }
    }
  }

  /** Hands {@code plan} to the runner; its outcome is queued for the loop. */
  private void start(StepPlan plan) {
    long startNanos = nanoTime.getAsLong();
    for (StepPlan.Entry e : plan.entries()) {
      if (e.tokens().length > 1 || e.startPosition() == 0) { // a prefill chunk (a decode runs one token, later)
        GenerationListener l = listeners.get(e.requestId());
        if (l != null) {
          l.onScheduled();
        }
      }
    }
    StepRunner.StepCompletion done = new StepRunner.StepCompletion() {
      @Override
      public void completed(int[] sampled, int[][] accepted) {
        enqueue(new Done(plan, startNanos, sampled.clone(), accepted.clone(), null));
      }

      @Override
      public void failed(Throwable cause) {
        enqueue(new Done(plan, startNanos, null, null, cause));
      }
    };
    try {
      runner.run(plan, done);
    } catch (RuntimeException e) {
      done.failed(e);
    }
  }

  private void enqueue(Done d) {
    lock.lock();
    try {
      completions.add(d);
      workArrived.signal();
    } finally {
      lock.unlock();
    }
  }

  /** Feeds queued step outcomes to the scheduler. */
  @GuardedBy("lock")
  private List<Done> applyCompletions() {
    if (completions.isEmpty()) {
      return List.of();
    }
    List<Done> applied = new ArrayList<>(completions);
    completions.clear();
    for (Done d : applied) {
      if (d.failure() == null) {
        try {
          scheduler.complete(d.plan(), d.sampled(), d.accepted());
          continue;
        } catch (RuntimeException e) {
          log.error("engine step returned a malformed result; failing its requests", e);
        }
      } else if (!(d.failure() instanceof CoreException)) {
        log.error("engine step over {} sequences failed; failing them", d.plan().entries().size(), d.failure());
      } else {
        log.warn("engine step over {} sequences failed ({}); failing them", d.plan().entries().size(),
            d.failure().getMessage()); // an expected outcome (a pipeline stage went away): no stack trace
      }
      scheduler.fail(d.plan());
    }
    return applied;
  }

  private void awaitWork() {
    try {
      workArrived.await(IDLE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  private void deliver(List<SchedulerEvent> events) {
    for (SchedulerEvent e : events) {
      GenerationListener l = listeners.get(e.requestId());
      try {
        if (e instanceof SchedulerEvent.Token t) {
          if (l != null) {
            l.onToken(t.choice(), t.token(), t.index());
          }
        } else if (e instanceof SchedulerEvent.DraftVerified v) {
          if (l != null) {
            l.onDraftVerified(v.choice(), v.drafted(), v.accepted());
          }
        } else if (e instanceof SchedulerEvent.PromptCached c) {
          if (l != null) {
            l.onPromptCached(c.cachedTokens());
          }
        } else if (e instanceof SchedulerEvent.Finished f) {
          if (f.last()) {
            listeners.remove(f.requestId());
          }
          runner.release(GenerationRequest.sequenceId(f.requestId(), f.choice()));
          if (l != null) {
            l.onFinished(f.choice(), f.reason(), f.promptTokens(), f.completionTokens(), f.last());
          }
        }
      } catch (RuntimeException ex) {
        log.warn("listener of request {} failed; cancelling it", e.requestId(), ex);
        cancel(e.requestId());
      }
    }
  }

  private static List<SchedulerEvent> concat(List<SchedulerEvent> a, List<SchedulerEvent> b) {
    if (b.isEmpty()) {
      return a;
    }
    List<SchedulerEvent> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  /**
   * Stops the loop: requests still in flight finish with FAILED, the thread is joined for up to
   * {@code grace}.
   */
  public void close(Duration grace) {
    lock.lock();
    try {
      closed = true;
      scheduler.failAll();
      workArrived.signalAll();
    } finally {
      lock.unlock();
    }
    try {
      thread.join(grace.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<SchedulerEvent> events;
    lock.lock();
    try {
      events = scheduler.drainEvents();
    } finally {
      lock.unlock();
    }
    deliver(events);
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }
}
