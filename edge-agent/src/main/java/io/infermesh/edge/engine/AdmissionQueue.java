package io.infermesh.edge.engine;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Bounded admission in front of the engine: {@code slots} requests generate at once, at most
 * {@code depth} more wait (in arrival order), and anything beyond is refused at once — requests
 * never pile up without bound. A request holds a {@link Ticket} from {@link #tryEnter()} until it
 * ends. Thread-safe.
 */
public final class AdmissionQueue {
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  private final int slots;
  private final int depth;
  private final Semaphore free;
  // @GuardedBy("this")
  private int waiting;

  private AdmissionQueue(int slots, int depth) {
    if (slots < 1) {
      throw new IllegalArgumentException("slots must be at least 1, got " + slots);
    }
    if (depth < 0) {
      throw new IllegalArgumentException("depth must not be negative, got " + depth);
    }
    this.slots = slots;
    this.depth = depth;
    this.free = new Semaphore(slots, true);
  }

  /** A queue with {@code slots} generation slots and room for {@code depth} waiting requests. */
  public static AdmissionQueue create(int slots, int depth) {
    return new AdmissionQueue(slots, depth);
  }

  /**
   * Enters the queue: a ticket that already holds a slot, or a place in line for one.
   *
   * @return null when every slot is busy and {@code depth} requests already wait
   */
  public Ticket tryEnter() {
    try {
      if (free.tryAcquire(0, TimeUnit.NANOSECONDS)) { // fair: never jumps the line
        return new Ticket(true);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
    synchronized (this) {
      if (waiting >= depth) {
        return null;
      }
      waiting++;
    }
    return new Ticket(false);
  }

  /** Requests waiting for a slot now. */
  public synchronized int waiting() {
    return waiting;
  }

  /** Requests holding a slot now. */
  public int running() {
    return slots - free.availablePermits();
  }

  public int slots() {
    return slots;
  }

  public int depth() {
    return depth;
  }

  private synchronized void leftLine() {
    waiting--;
  }

  /** A place in the queue; confined to the request's thread. */
  public final class Ticket implements AutoCloseable {
    private boolean holdsSlot;
    private boolean inLine;

    private Ticket(boolean holdsSlot) {
      this.holdsSlot = holdsSlot;
      this.inLine = !holdsSlot;
    }

    /** Whether this ticket holds a generation slot. */
    public boolean holdsSlot() {
      return holdsSlot;
    }

    /**
     * Waits for a slot, checking {@code giveUp} every few milliseconds.
     *
     * @return true once a slot is held; false when {@code giveUp} turned true first
     */
    public boolean awaitSlot(BooleanSupplier giveUp) throws InterruptedException {
      while (!holdsSlot) {
        if (giveUp.getAsBoolean()) {
          return false;
        }
        if (free.tryAcquire(POLL_NANOS, TimeUnit.NANOSECONDS)) {
          holdsSlot = true;
          inLine = false;
          leftLine();
        }
      }
      return true;
    }

    /** Frees the slot, or the place in line. Idempotent. */
    @Override
    public void close() {
      if (holdsSlot) {
        holdsSlot = false;
        free.release();
      } else if (inLine) {
        inLine = false;
        leftLine();
      }
    }
  }
}
