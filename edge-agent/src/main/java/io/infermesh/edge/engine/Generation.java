package io.infermesh.edge.engine;

import java.util.concurrent.CancellationException;

/**
 * One running generation, pulled token by token by one thread (the one that started it). The
 * engine decodes ahead on its own thread, so a reader that does work between calls (writing to a
 * socket) does not slow decoding, and {@link #ready()} tells it how much is already waiting.
 */
public interface Generation extends AutoCloseable {
  /**
   * The text of the next token (empty for a token that prints nothing, or whose bytes are held
   * back until a UTF-8 character is complete), or {@code null} once generation has ended.
   *
   * @throws CancellationException when the generation's cancellation flag turned true
   * @throws EngineException when the engine fails
   */
  String next();

  /**
   * Whether {@link #next()} would return without waiting: a token, or the end, is already here. A
   * reader uses it to batch what has piled up. False when the implementation cannot tell.
   */
  default boolean ready() {
    return false;
  }

  /**
   * Waits up to {@code nanos}, returning early once the last token has been produced. By default it
   * does not wait: an implementation that cannot tell when it ends must not hold a reader back.
   */
  default void awaitEnd(long nanos) throws InterruptedException {}

  /** How generation ended; valid once {@link #next()} returned {@code null}. */
  Completion completion();

  /** Stops generation if it has not ended and frees its slot. Idempotent; same thread as {@link #next()}. */
  @Override
  void close();
}
