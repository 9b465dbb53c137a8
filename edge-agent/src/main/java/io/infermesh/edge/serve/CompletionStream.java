package io.infermesh.edge.serve;

import java.util.Optional;

/**
 * The answer to one admitted request, pulled by the transport: {@link StreamEvent.Delta}s, then one
 * {@link StreamEvent.Done} or {@link StreamEvent.Failed}. Consumed by one thread; {@link #cancel()}
 * may be called from any thread.
 */
public interface CompletionStream extends AutoCloseable {
  /** Who answers and how. */
  Served served();

  /**
   * The next event, waiting as long as it takes (bounded by the request's deadline). After the
   * final event, returns it again.
   */
  StreamEvent next() throws InterruptedException;

  /**
   * The next event if one is ready now, else null (lets a writer batch what has piled up into one
   * flush).
   */
  StreamEvent poll();

  /**
   * Reads the rest of the answer, for a reader that needs only the whole of it: appends the text of
   * every remaining delta to {@code text} and returns the final event ({@link StreamEvent.Done} or
   * {@link StreamEvent.Failed}, the same as {@link #next()} returns from then on). A stream may then
   * skip waking its reader for every delta; by default this is {@link #next()} in a loop.
   */
  default StreamEvent readRest(StringBuilder text) throws InterruptedException {
    StreamEvent event;
    while ((event = next()) instanceof StreamEvent.Delta delta) {
      text.append(delta.text());
    }
    return event;
  }

  /**
   * Waits up to {@code nanos}, returning early once the stream's last event is ready: a writer that
   * holds a flush back to batch tokens uses it so that the end of an answer is never held back. By
   * default it does not wait (the writer then flushes every time, and nothing is ever late).
   */
  default void awaitEnd(long nanos) throws InterruptedException {}

  /**
   * Choice {@code index} (1 to {@code choices - 1}) of a request that asked for several
   * ({@link CompletionRequest#choices()}), when this stream's server generates them in the same call
   * (the core); empty when the caller must ask for that choice with a request of its own (the edge's
   * engine, a cache replay, a core that failed over to the edge). The choices of one call are
   * independent streams, each closed by its reader; the call ends when all of them have.
   */
  default Optional<CompletionStream> choice(int index) {
    return Optional.empty();
  }

  /** Stops generation (the caller went away); idempotent. */
  void cancel();

  /** Cancels the stream unless it already ended. */
  @Override
  default void close() {
    cancel();
  }
}
