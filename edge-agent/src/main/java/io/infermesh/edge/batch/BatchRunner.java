package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.Tenant;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.IntPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The batch workers of one node: {@code batch.concurrency} threads, each claiming one line at a time
 * from the {@link BatchStore}, running it through the {@link LineExecutor} and recording its output
 * line, plus a housekeeping thread that finishes batches with nothing left to run ({@link
 * BatchStore#finishDue}) every {@value #FINISH_PERIOD_MILLIS} ms.
 *
 * <p>Spare capacity only: a worker claims a line only while {@code spare} says interactive traffic
 * leaves room (see {@link SpareCapacity}); otherwise it waits and asks again. Lines run at low
 * priority, so an interactive request that arrives meanwhile is served before any further line.
 * A line the path could not take now (a full queue, the tenant's rate spent, a drain) is released
 * and claimed again after a pause. {@link #close} stops claiming, lets running lines end (they are
 * aborted by the agent's own shutdown and released), and returns.
 *
 * <p>Threads: each worker is confined to its thread; the shared state is the stop flag and the
 * wake-up condition, both under {@link #lock}.
 */
public final class BatchRunner implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BatchRunner.class);
  static final long FINISH_PERIOD_MILLIS = 200;
  private static final long IDLE_WAIT_MILLIS = 250;
  private static final long BUSY_WAIT_MILLIS = 2;

  private final BatchStore store;
  private final LineExecutor executor;
  private final IntPredicate spare;
  private final AtomicInteger running = new AtomicInteger();
  private final Function<BatchOwner, Tenant> tenants;
  private final Clock clock;
  private final Duration lease;
  private final String workerPrefix;
  private final List<Thread> threads = new ArrayList<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition work = lock.newCondition();
  // written under lock (with the signal), read without it by the loops
  private volatile boolean stopped;

  private BatchRunner(BatchStore store, LineExecutor executor, IntPredicate spare,
      Function<BatchOwner, Tenant> tenants, Clock clock, Duration lease, String workerPrefix) {
    this.store = requireNonNull(store, "store");
    this.executor = requireNonNull(executor, "executor");
    this.spare = requireNonNull(spare, "spare");
    this.tenants = requireNonNull(tenants, "tenants");
    this.clock = requireNonNull(clock, "clock");
    this.lease = requireNonNull(lease, "lease");
    this.workerPrefix = requireNonNull(workerPrefix, "workerPrefix");
  }

  /**
   * Starts {@code concurrency} workers named {@code workerPrefix-N} (unique across the nodes sharing
   * the store) and the housekeeping thread.
   *
   * @param spare whether interactive traffic leaves room for one more batch line, given how many run now
   * @param tenants who a batch's lines run as
   */
  public static BatchRunner start(BatchStore store, LineExecutor executor, IntPredicate spare,
      Function<BatchOwner, Tenant> tenants, Clock clock, Duration lease, String workerPrefix, int concurrency) {
    BatchRunner runner = new BatchRunner(store, executor, spare, tenants, clock, lease, workerPrefix);
    for (int i = 0; i < concurrency; i++) {
      String worker = workerPrefix + "-" + i;
      runner.threads.add(daemon(() -> runner.work(worker), "batch-" + worker));
    }
    runner.threads.add(daemon(runner::finishLoop, "batch-finisher"));
    runner.threads.forEach(Thread::start);
    return runner;
  }

  private static Thread daemon(Runnable body, String name) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    return t;
  }

  /** Wakes idle workers: a batch was created. */
  public void wake() {
    lock.lock();
    try {
      work.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private void work(String worker) {
    while (!stopped) {
      try {
        if (!spare.test(running.get())) {
          pause(BUSY_WAIT_MILLIS);
          continue;
        }
        Optional<ClaimedLine> claimed = store.claim(worker, clock.instant(), lease);
        if (claimed.isEmpty()) {
          pause(IDLE_WAIT_MILLIS);
          continue;
        }
        run(claimed.get(), worker);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.warn("batch worker {}: {}; retrying in 1 s", worker, e.toString());
        try {
          pause(1000);
        } catch (InterruptedException stop) {
          return;
        }
      }
    }
  }

  private void run(ClaimedLine line, String worker) throws InterruptedException {
    LineExecutor.Outcome outcome;
    running.incrementAndGet();
    try {
      outcome = executor.run(line, tenants.apply(line.owner()));
    } finally {
      running.decrementAndGet();
    }
    if (outcome instanceof LineExecutor.Outcome.Answered answered) {
      boolean failed = answered.status() < 200 || answered.status() >= 300;
      String result = OutputLines.response(line.customId(), answered.status(), answered.requestId(), answered.body())
          .toString();
      if (!store.complete(line, worker, failed, result)) {
        log.debug("batch {} line {}: answered after its lease passed to another worker; that answer counts",
            line.batchId(), line.number());
      }
      return;
    }
    LineExecutor.Outcome.Retry retry = (LineExecutor.Outcome.Retry) outcome;
    store.release(line, worker);
    log.debug("batch {} line {}: not run now ({}); again in {}", line.batchId(), line.number(), retry.reason(),
        retry.after());
    pause(Math.max(1, retry.after().toMillis()));
  }

  private void finishLoop() {
    while (!stopped) {
      try {
        int finished = store.finishDue(clock.instant());
        if (finished > 0) {
          log.info("{} batch(es) finished", finished);
        }
        pause(FINISH_PERIOD_MILLIS);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.warn("batch housekeeping: {}; retrying", e.toString());
        try {
          pause(1000);
        } catch (InterruptedException stop) {
          return;
        }
      }
    }
  }

  private void pause(long millis) throws InterruptedException {
    lock.lock();
    try {
      if (!stopped) {
        work.await(millis, TimeUnit.MILLISECONDS);
      }
    } finally {
      lock.unlock();
    }
    if (stopped) {
      throw new InterruptedException("stopped");
    }
  }

  /** Stops claiming; waits up to {@code timeout} for the lines running to end. */
  public void stop(Duration timeout) {
    lock.lock();
    try {
      stopped = true;
      work.signalAll();
    } finally {
      lock.unlock();
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Thread t : threads) {
      try {
        t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  @Override
  public void close() {
    stop(Duration.ofSeconds(10));
  }

  @Override
  public String toString() {
    return "BatchRunner{" + workerPrefix + ", workers=" + (threads.size() - 1) + "}";
  }
}
