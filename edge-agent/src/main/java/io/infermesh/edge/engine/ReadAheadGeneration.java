package io.infermesh.edge.engine;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Executor;
import java.util.concurrent.Phaser;
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
 * <p>Read-ahead pays only while tokens come faster than a writer flushes them one by one. Once
 * {@link #DIRECT_AFTER} tokens in a row came more than {@link #DIRECT_GAP_NANOS} apart, each to a
 * reader that had taken everything before it (decode of a real model, as opposed to a tiny one),
 * every token is flushed alone anyway, and the hand-off costs a thread wake-up a token
 * that takes a core from llama.cpp's decode threads when they use every core (issue 19: 5–13% of
 * decode at 2 threads on 2 cores). The pump then hands the inner generation itself to the reader,
 * behind the tokens already queued, and exits: the reader pulls the rest straight from the
 * binding, checking cancellation before each token ({@link #ready()} is then false, and {@link
 * #awaitEnd} does not wait). The wait for the first tokens, which includes the prompt's prefill,
 * stays on the pump, so a cancellation or deadline during a long prefill frees the reader at once.
 *
 * <p>Until the hand-over the pump is the only thread that touches the inner generation: it checks
 * cancellation between tokens and stops the inner generation itself (cancelling from another thread
 * while the pump waits inside the binding would strand it); after it, only the reader does (the
 * queue orders the two). {@link #next()}, {@link #ready()} and {@link #close()} are confined to the
 * reader. While the pump reads, the reader waits at most {@link #WAKE_NANOS} between checks of its
 * cancellation flag, so a stalled engine never pins it.
 */
final class ReadAheadGeneration implements Generation {
  /** Tokens the pump may run ahead of the reader; beyond that it waits (the engine keeps its own). */
  static final int CAPACITY = 256;
  private static final long WAKE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  /**
   * Tokens further apart than this go to the reader without a pump: the default {@code
   * http.stream_flush_interval}, beyond which a writer flushes every token alone.
   */
  static final long DIRECT_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
  /** Slow tokens in a row, each to a reader that was waiting, before the hand-over (one slow gap may be a stall). */
  static final int DIRECT_AFTER = 4;

  private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(CAPACITY);
  private final BooleanSupplier cancelled;
  private final Phaser readers;
  private volatile boolean closed;
  private volatile boolean ended; // the pump handed its last item
  private volatile Thread endWatcher;

  // confined to the reader
  private Completion completion;
  private Generation direct; // the inner generation, once the pump handed it over
  private boolean directClosed;

  /** Queued by the pump after its last token: the reader pulls the rest from {@code inner} itself. */
  private record Handover(Generation inner) {}

  private ReadAheadGeneration(BooleanSupplier cancelled, Phaser readers) {
    this.cancelled = cancelled;
    this.readers = readers;
  }

  /**
   * Starts pumping the generation that {@code starter} opens, on a thread of {@code pumps}.
   * {@code starter} receives the cancellation check the inner generation must poll. A reader that
   * is handed the inner generation is a party of {@code readers} until it has closed it (the
   * engine waits for them before it unloads; once {@code readers} has terminated, nothing is
   * handed over).
   */
  static ReadAheadGeneration start(Function<BooleanSupplier, Generation> starter,
      BooleanSupplier cancelled, Executor pumps, Phaser readers) {
    ReadAheadGeneration outer = new ReadAheadGeneration(cancelled, readers);
    Generation inner = starter.apply(outer::stopRequested);
    pumps.execute(() -> outer.pump(inner));
    return outer;
  }

  private boolean stopRequested() {
    return closed || cancelled.getAsBoolean();
  }

  /**
   * On the pump thread: texts, then the {@link Completion} or the exception that ended it; or,
   * once tokens come slower than {@link #DIRECT_GAP_NANOS}, the inner generation itself.
   */
  private void pump(Generation inner) {
    boolean handedOver = false;
    try {
      long previous = 0;
      int slow = 0; // tokens in a row that came DIRECT_GAP_NANOS after the last, to a reader that had taken it
      for (String text; (text = inner.next()) != null; ) {
        long now = System.nanoTime();
        slow = previous != 0 && now - previous > DIRECT_GAP_NANOS && queue.isEmpty() ? slow + 1 : 0;
        previous = now;
        if (!hand(text)) {
          return; // the reader closed while the queue was full: closing inner stops generation
        }
        if (slow == DIRECT_AFTER && readers.register() >= 0) {
          handedOver = hand(new Handover(inner));
          if (!handedOver) {
            readers.arriveAndDeregister(); // the reader closed: closing inner stops generation
          }
          return;
        }
      }
      hand(inner.completion());
    } catch (RuntimeException e) {
      hand(e);
    } finally {
      if (!handedOver) {
        inner.close();
      }
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
    if (direct != null) {
      return nextDirect();
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
    if (item instanceof Handover h) {
      direct = h.inner();
      return nextDirect();
    }
    throw (RuntimeException) item; // thrown on the pump thread; its stack trace says where
  }

  /** The next token straight from the inner generation (it checks cancellation first); closes it at its end. */
  private String nextDirect() {
    try {
      String text = direct.next();
      if (text == null) {
        completion = direct.completion();
        closeDirect();
      }
      return text;
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  @Override
  public void awaitEnd(long nanos) throws InterruptedException {
    if (direct != null) {
      return; // the end is not known before the reader reads it: never hold a token back
    }
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

  /**
   * Asks the pump to stop; it does so at its next token, without making the reader wait. Once the
   * reader pulls the inner generation itself, stops that at once.
   */
  @Override
  public void close() {
    closed = true;
    closeDirect();
  }

  private void closeDirect() {
    if (direct != null && !directClosed) {
      directClosed = true;
      try {
        direct.close();
      } finally {
        readers.arriveAndDeregister();
      }
    }
  }
}
