package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * Time that moves only when a test moves it, as grpc-java's {@code FakeClock}: one source for a
 * wall {@link #clock() Clock}, a monotonic {@link #ticker() ticker} and a {@link #scheduler()
 * ScheduledExecutorService} whose tasks run, on the test's own thread, when {@link #forward} reaches
 * their time. Code under test that takes these three injected is then tested without sleeping and
 * without threads: forward, then assert.
 *
 * <p>Thread-safe: code under test may schedule from other threads; tasks run only inside {@link
 * #forward} and {@link #runDueTasks}, one at a time. Tasks that a running task schedules for now run
 * in the same call. Shutdown of the scheduler is a no-op (the fake owns no threads).
 */
public final class FakeClock {
  private final Object lock = new Object();
  // @GuardedBy("lock")
  private final PriorityQueue<Task> queue = new PriorityQueue<>();
  private final Instant origin;
  private volatile long nanos;
  // @GuardedBy("lock")
  private long sequence;
  // @GuardedBy("lock")
  private long tasksRun;
  private final Scheduler scheduler = new Scheduler();

  /** Starts at {@code origin} on the wall clock and 0 on the ticker. */
  public FakeClock(Instant origin) {
    this.origin = requireNonNull(origin, "origin");
  }

  /** Starts at 2026-01-01T00:00:00Z. */
  public FakeClock() {
    this(Instant.parse("2026-01-01T00:00:00Z"));
  }

  /** A UTC wall clock at origin plus the time forwarded so far. */
  public Clock clock() {
    return new Clock() {
      @Override
      public Instant instant() {
        return origin.plusNanos(nanos);
      }

      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("FakeClock is always UTC");
      }
    };
  }

  /** Nanoseconds forwarded so far, as a {@code System::nanoTime} stand-in. */
  public LongSupplier ticker() {
    return () -> nanos;
  }

  /** Nanoseconds forwarded so far. */
  public long nanoTime() {
    return nanos;
  }

  /** The executor whose tasks run when time is forwarded to them. */
  public ScheduledExecutorService scheduler() {
    return scheduler;
  }

  /** Moves time by {@code duration}, running every task that falls due, in time order. */
  public int forward(Duration duration) {
    requireNonNull(duration, "duration");
    if (duration.isNegative()) {
      throw new IllegalArgumentException("time only moves forward, got " + duration);
    }
    long target = Math.addExact(nanos, duration.toNanos());
    int ran = 0;
    while (true) {
      Task next;
      synchronized (lock) {
        next = queue.peek();
        if (next == null || next.due > target) {
          break;
        }
        queue.poll();
        nanos = Math.max(nanos, next.due);
      }
      next.runOnce();
      ran++;
    }
    nanos = target;
    return ran;
  }

  /** Runs the tasks due now (e.g. what {@code execute} queued) without moving time. */
  public int runDueTasks() {
    return forward(Duration.ZERO);
  }

  /** Tasks waiting for their time, periodic ones included. */
  public int pendingTasks() {
    synchronized (lock) {
      return (int) queue.stream().filter(t -> !t.isCancelled()).count();
    }
  }

  /** Task runs so far (each period of a periodic task counts once). */
  public long tasksRun() {
    synchronized (lock) {
      return tasksRun;
    }
  }

  private Task enqueue(Runnable body, long delayNanos, long periodNanos) {
    synchronized (lock) {
      Task t = new Task(body, Math.addExact(nanos, Math.max(0, delayNanos)), periodNanos, sequence++);
      queue.add(t);
      return t;
    }
  }

  /** One scheduled run; periodic tasks put themselves back after each run. */
  private final class Task extends FutureTask<Object> implements ScheduledFuture<Object> {
    private volatile long due;
    private final long period; // 0: once; > 0: fixed rate; < 0: fixed delay
    private final long seq;

    Task(Runnable body, long due, long period, long seq) {
      super(body, null);
      this.due = due;
      this.period = period;
      this.seq = seq;
    }

    void runOnce() {
      synchronized (lock) {
        tasksRun++;
      }
      if (period == 0) {
        run();
        return;
      }
      if (runAndReset()) {
        synchronized (lock) {
          due = period > 0 ? due + period : nanos - period;
          queue.add(this);
        }
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      Task o = (Task) other;
      return due != o.due ? Long.compare(due, o.due) : Long.compare(seq, o.seq);
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      synchronized (lock) {
        queue.remove(this);
      }
      return cancelled;
    }

    @Override
    public Object get(long timeout, TimeUnit unit)
        throws InterruptedException, ExecutionException, TimeoutException {
      if (!isDone()) {
        throw new TimeoutException("a FakeClock task runs only when the test forwards time to it");
      }
      return super.get(timeout, unit);
    }
  }

  private final class Scheduler extends AbstractExecutorService implements ScheduledExecutorService {
    @Override
    public void execute(Runnable command) {
      enqueue(requireNonNull(command, "command"), 0, 0);
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      return enqueue(requireNonNull(command, "command"), unit.toNanos(delay), 0);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
      requireNonNull(callable, "callable");
      FutureTask<V> result = new FutureTask<>(callable);
      Task t = enqueue(result, unit.toNanos(delay), 0);
      return new ScheduledFuture<>() {
        @Override
        public long getDelay(TimeUnit u) {
          return t.getDelay(u);
        }

        @Override
        public int compareTo(Delayed o) {
          return Long.compare(getDelay(TimeUnit.NANOSECONDS), o.getDelay(TimeUnit.NANOSECONDS));
        }

        @Override
        public boolean cancel(boolean interrupt) {
          t.cancel(interrupt);
          return result.cancel(interrupt);
        }

        @Override
        public boolean isCancelled() {
          return result.isCancelled();
        }

        @Override
        public boolean isDone() {
          return result.isDone();
        }

        @Override
        public V get() throws InterruptedException, ExecutionException {
          if (!result.isDone()) {
            throw new CancellationException("a FakeClock task runs only when the test forwards time to it");
          }
          return result.get();
        }

        @Override
        public V get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
          if (!result.isDone()) {
            throw new TimeoutException("a FakeClock task runs only when the test forwards time to it");
          }
          return result.get();
        }
      };
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
      if (period <= 0) {
        throw new IllegalArgumentException("period must be positive, got " + period);
      }
      return enqueue(requireNonNull(command, "command"), unit.toNanos(initialDelay), unit.toNanos(period));
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
      if (delay <= 0) {
        throw new IllegalArgumentException("delay must be positive, got " + delay);
      }
      return enqueue(requireNonNull(command, "command"), unit.toNanos(initialDelay), -unit.toNanos(delay));
    }

    @Override
    public void shutdown() {}

    @Override
    public List<Runnable> shutdownNow() {
      return new ArrayList<>();
    }

    @Override
    public boolean isShutdown() {
      return false;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }
}
