package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The ledger of requests in flight: each admitted request (a local generation, or an escalated
 * stream) is an {@link Entry} from its admission until its last event or its close. It gives
 * requests their ids, refuses new ones once draining, waits for the rest to end, and stops them
 * when the wait runs out — the shutdown {@code drain()}, {@code awaitIdle}, {@code abortAll}.
 *
 * <p>Thread-safe: the entries and the draining flag are guarded by one lock, taken once when a
 * request enters and once when it leaves; waiters for idleness wake when the last one leaves.
 * {@link Entry#abort} is called outside the lock.
 */
final class InFlight {
  /** A request in flight, as the ledger sees it. */
  interface Entry {
    /** Stops the request for {@code reason} (shutdown); its reader receives it. Any thread; idempotent. */
    void abort(EdgeException reason);
  }

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition idle = lock.newCondition();
  @GuardedBy("lock")
  private final Set<Entry> entries = new HashSet<>();
  @GuardedBy("lock")
  private boolean draining;

  /** {@code requested} when the caller gave one (already validated), else a new random id. */
  static String requestId(String requested) {
    if (!requested.isEmpty()) {
      return requested;
    }
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return "req-" + Long.toHexString(random.nextLong() | Long.MIN_VALUE)
        + Long.toHexString(random.nextLong() | Long.MIN_VALUE);
  }

  /**
   * Admits {@code entry}; while draining, runs {@code undo} (frees what the entry holds) and throws.
   *
   * @throws EdgeException UNAVAILABLE when draining (the entry is not admitted)
   */
  void enter(Entry entry, Runnable undo) {
    requireNonNull(entry, "entry");
    requireNonNull(undo, "undo");
    lock.lock();
    try {
      if (!draining) {
        entries.add(entry);
        return;
      }
    } finally {
      lock.unlock();
    }
    undo.run();
    checkOpen();
  }

  /**
   * Admits {@code entry} even while draining: it continues a request admitted before (the edge
   * finishing an answer the core failed), which a drain waits for.
   */
  void join(Entry entry) {
    requireNonNull(entry, "entry");
    lock.lock();
    try {
      entries.add(entry);
    } finally {
      lock.unlock();
    }
  }

  /** Removes {@code entry}; idempotent. */
  void leave(Entry entry) {
    lock.lock();
    try {
      if (entries.remove(entry) && entries.isEmpty()) {
        idle.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Throws when draining: the cheap check before a request is parsed further.
   *
   * @throws EdgeException UNAVAILABLE when draining
   */
  void checkOpen() {
    lock.lock();
    try {
      if (draining) {
        throw EdgeException.unavailable("the agent is shutting down; retry on another instance");
      }
    } finally {
      lock.unlock();
    }
  }

  /** Whether new requests are refused. */
  boolean draining() {
    lock.lock();
    try {
      return draining;
    } finally {
      lock.unlock();
    }
  }

  /** Refuses new requests from now on; the admitted ones run on. */
  void drain() {
    lock.lock();
    try {
      draining = true;
    } finally {
      lock.unlock();
    }
  }

  /** Requests in flight now. */
  int size() {
    lock.lock();
    try {
      return entries.size();
    } finally {
      lock.unlock();
    }
  }

  /** Waits up to {@code timeout} (wall time) for every request to leave; returns whether they did. */
  boolean awaitIdle(Duration timeout) throws InterruptedException {
    long left = timeout.toNanos();
    lock.lock();
    try {
      while (!entries.isEmpty()) {
        if (left <= 0) {
          return false;
        }
        left = idle.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Stops every request in flight; their readers receive {@code reason}. */
  void abortAll(EdgeException reason) {
    requireNonNull(reason, "reason");
    List<Entry> now;
    lock.lock();
    try {
      now = List.copyOf(entries);
    } finally {
      lock.unlock();
    }
    for (Entry entry : now) {
      entry.abort(reason);
    }
  }
}
