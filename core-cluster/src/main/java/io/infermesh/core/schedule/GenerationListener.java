package io.infermesh.core.schedule;

/**
 * Receives one request's output. Called on the batch loop's thread, in order, never concurrently
 * for one request; implementations must not block (hand off to the transport's buffer).
 */
public interface GenerationListener {

  /**
   * The request's first sequence is in an engine step: its wait in the queue is over and its
   * prefill begins. May come once per step until its first token; a listener keeps only the first.
   */
  default void onScheduled() {}

  /** A generated token of choice {@code choice}; {@code index} counts that choice's tokens from 0. */
  void onToken(int choice, int token, int index);

  /**
   * Choice {@code choice} ended; once per choice. The call for the request's last open choice is
   * the last call for the request ({@code last}).
   */
  void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens, boolean last);

  /**
   * A draft of {@code drafted} tokens was verified for choice {@code choice} and {@code accepted}
   * of them kept; called before the tokens it yields. Ignored by default.
   */
  default void onDraftVerified(int choice, int drafted, int accepted) {}

  /**
   * The request's first {@code cachedTokens} prompt tokens came from the prefix cache (not
   * computed for it); at most once, before any token. Not called on a miss.
   */
  default void onPromptCached(int cachedTokens) {}
}
