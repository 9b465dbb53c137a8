package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Bounded admission in front of the engine: {@code slots} requests generate at once, at most
 * {@code depth} more wait, and anything beyond is refused at once — requests never pile up without
 * bound. A freed slot goes to the waiting request with the best {@link Priority} after aging (each
 * {@code aging} period waited raises a request one class), first come first served within a class;
 * a newcomer never jumps a line that exists. A request holds a {@link Ticket} from {@link
 * #tryEnter} until it ends.
 *
 * <p>Thread-safe: all state is guarded by one lock; waiters wake on a grant, and every few
 * milliseconds to check whether they should give up.
 */
public final class AdmissionQueue {
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  /** How long a request waits before it counts as one class higher, unless configured. */
  public static final Duration DEFAULT_AGING = Duration.ofSeconds(5);

  private final int slots;
  private final int depth;
  private final Duration aging;
  private final LongSupplier nanoTime;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition granted = lock.newCondition();
  @GuardedBy("lock")
  private int free;
  // in arrival order
  @GuardedBy("lock")
  private final List<Ticket> line = new ArrayList<>();
  // the tickets holding a slot; here rather than a flag on each ticket, so that @GuardedBy can check it
  @GuardedBy("lock")
  private final Set<Ticket> holders = new HashSet<>();

  private AdmissionQueue(int slots, int depth, Duration aging, LongSupplier nanoTime) {
    if (slots < 1) {
      throw new IllegalArgumentException("slots must be at least 1, got " + slots);
    }
    if (depth < 0) {
      throw new IllegalArgumentException("depth must not be negative, got " + depth);
    }
    if (aging.isNegative() || aging.isZero()) {
      throw new IllegalArgumentException("aging must be positive, got " + aging);
    }
    this.slots = slots;
    this.depth = depth;
    this.aging = aging;
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.free = slots;
  }

  /** A queue with {@code slots} generation slots and room for {@code depth} waiting requests. */
  public static AdmissionQueue create(int slots, int depth) {
    return new AdmissionQueue(slots, depth, DEFAULT_AGING, System::nanoTime);
  }

  /** As {@link #create(int, int)}, with the aging period and the clock (tests move it). */
  public static AdmissionQueue create(int slots, int depth, Duration aging, LongSupplier nanoTime) {
    return new AdmissionQueue(slots, depth, requireNonNull(aging, "aging"), nanoTime);
  }

  /** {@link #tryEnter(Priority)} at {@link Priority#NORMAL}. */
  public Ticket tryEnter() {
    return tryEnter(Priority.NORMAL);
  }

  /**
   * Enters the queue: a ticket that already holds a slot, or a place in line for one.
   *
   * @return null when every slot is busy (or promised to someone waiting) and {@code depth}
   *     requests already wait
   */
  public Ticket tryEnter(Priority priority) {
    requireNonNull(priority, "priority");
    lock.lock();
    try {
      Ticket ticket = new Ticket(priority, nanoTime.getAsLong());
      if (free > 0 && line.isEmpty()) {
        free--;
        holders.add(ticket);
        return ticket;
      }
      if (line.size() >= depth) {
        return null;
      }
      line.add(ticket);
      return ticket;
    } finally {
      lock.unlock();
    }
  }

  /** Requests waiting for a slot now. */
  public int waiting() {
    lock.lock();
    try {
      return line.size();
    } finally {
      lock.unlock();
    }
  }

  /** Requests holding a slot now. */
  public int running() {
    lock.lock();
    try {
      return slots - free;
    } finally {
      lock.unlock();
    }
  }

  public int slots() {
    return slots;
  }

  public int depth() {
    return depth;
  }

  /** Gives free slots to the best waiters. */
  @GuardedBy("lock")
  private void grant() {
    boolean any = false;
    while (free > 0 && !line.isEmpty()) {
      long now = nanoTime.getAsLong();
      Ticket best = line.get(0);
      for (Ticket t : line) { // arrival order, so ties keep the earlier one
        if (t.priority.agedRank(now - t.arrivedNanos, aging) < best.priority.agedRank(now - best.arrivedNanos, aging)) {
          best = t;
        }
      }
      line.remove(best);
      free--;
      holders.add(best);
      any = true;
    }
    if (any) {
      granted.signalAll();
    }
  }

  /** A place in the queue; {@link #awaitSlot} and {@link #close} on the request's thread. */
  public final class Ticket implements AutoCloseable {
    private final Priority priority;
    private final long arrivedNanos;
    @GuardedBy("AdmissionQueue.this.lock")
    private boolean closed;

    private Ticket(Priority priority, long arrivedNanos) {
      this.priority = priority;
      this.arrivedNanos = arrivedNanos;
    }

    /** The class it waits in. */
    public Priority priority() {
      return priority;
    }

    /** Whether this ticket holds a generation slot. */
    public boolean holdsSlot() {
      lock.lock();
      try {
        return holders.contains(this);
      } finally {
        lock.unlock();
      }
    }

    /**
     * Waits for a slot, checking {@code giveUp} every few milliseconds.
     *
     * @return true once a slot is held; false when {@code giveUp} turned true first (the ticket
     *     keeps its place until closed)
     */
    public boolean awaitSlot(BooleanSupplier giveUp) throws InterruptedException {
      lock.lock();
      try {
        while (!holders.contains(this)) {
          if (closed || giveUp.getAsBoolean()) {
            return false;
          }
          granted.awaitNanos(POLL_NANOS);
        }
        return true;
      } finally {
        lock.unlock();
      }
    }

    /** Frees the slot (to the best waiter), or the place in line. Idempotent. */
    @Override
    public void close() {
      lock.lock();
      try {
        if (closed) {
          return;
        }
        closed = true;
        if (holders.remove(this)) {
          free++;
        } else {
          line.remove(this);
        }
        grant();
      } finally {
        lock.unlock();
      }
    }
  }
}
