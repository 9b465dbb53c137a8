package io.infermesh.edge.serve;

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

  /** Stops generation (the caller went away); idempotent. */
  void cancel();

  /** Cancels the stream unless it already ended. */
  @Override
  default void close() {
    cancel();
  }
}
