package io.infermesh.edge.engine;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * A {@link Generation} pulled on a pump thread into a bounded queue, so that its reader can see
 * what is already there ({@link #ready()}) and take several tokens at once — an SSE writer then
 * sends them in one write instead of one flush per token. The binding's own receive call blocks
 * with no timeout, which is why a second thread is needed at all.
 *
 * <p>The pump is the only thread that touches the inner generation: it checks cancellation between
 * tokens and stops the inner generation itself (cancelling from another thread while the pump
 * waits inside the binding would strand it). {@link #next()}, {@link #ready()} and {@link #close()}
 * are confined to the reader. The reader waits at most {@link #WAKE_NANOS} between checks of its
 * cancellation flag, so a stalled engine never pins it.
 */
final class ReadAheadGeneration implements Generation {
  /** Tokens the pump may run ahead of the reader; beyond that it waits (the engine keeps its own). */
  static final int CAPACITY = 256;
  private static final long WAKE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(CAPACITY);
  private final BooleanSupplier cancelled;
  private volatile boolean closed;
  private volatile boolean ended; // the pump handed its last item
  private volatile Thread endWatcher;

  // confined to the reader
  private Completion completion;

  private ReadAheadGeneration(BooleanSupplier cancelled) {
    this.cancelled = cancelled;
  }

  /**
   * Starts pumping the generation that {@code starter} opens, on a thread of {@code pumps}.
   * {@code starter} receives the cancellation check the inner generation must poll.
   */
  static ReadAheadGeneration start(Function<BooleanSupplier, Generation> starter,
      BooleanSupplier cancelled, Executor pumps) {
    ReadAheadGeneration outer = new ReadAheadGeneration(cancelled);
    Generation inner = starter.apply(outer::stopRequested);
    pumps.execute(() -> outer.pump(inner));
    return outer;
  }

  private boolean stopRequested() {
    return closed || cancelled.getAsBoolean();
  }

  /** On the pump thread: texts, then the {@link Completion} or the exception that ended it. */
  private void pump(Generation inner) {
    try (inner) {
      for (String text; (text = inner.next()) != null; ) {
        if (!hand(text)) {
          return; // the reader closed while the queue was full: closing inner stops generation
        }
      }
      hand(inner.completion());
    } catch (RuntimeException e) {
      hand(e);
    } finally {
      ended = true;
      Thread watcher = endWatcher;
      if (watcher != null) {
        LockSupport.unpark(watcher);
      }
    }
  }

  /** Queues {@code item} for the reader; false when the reader went away first. */
  private boolean hand(Object item) {
    try {
      while (!queue.offer(item, WAKE_NANOS, TimeUnit.NANOSECONDS)) {
        if (closed) {
          return false;
        }
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public String next() {
    if (completion != null) {
      return null;
    }
    Object item = null;
    try {
      while (item == null) { // checked before every token, queued or not
        if (cancelled.getAsBoolean()) {
          close();
          throw new CancellationException("generation cancelled");
        }
        item = queue.poll(WAKE_NANOS, TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new CancellationException("interrupted while waiting for the next token");
    }
    if (item instanceof String text) {
      return text;
    }
    if (item instanceof Completion c) {
      completion = c;
      return null;
    }
    throw (RuntimeException) item; // thrown on the pump thread; its stack trace says where
  }

  @Override
  public void awaitEnd(long nanos) throws InterruptedException {
    long deadline = System.nanoTime() + nanos;
    endWatcher = Thread.currentThread();
    try {
      while (!ended) { // published before the check: an end after it unparks us
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

  @Override
  public boolean ready() {
    return completion != null || !queue.isEmpty();
  }

  @Override
  public Completion completion() {
    if (completion == null) {
      throw new IllegalStateException("generation has not ended");
    }
    return completion;
  }

  /** Asks the pump to stop; it does so at its next token, without making the reader wait. */
  @Override
  public void close() {
    closed = true;
  }
}
