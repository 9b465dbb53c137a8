package io.infermesh.core.schedule;

/**
 * Receives one request's output. Called on the batch loop's thread, in order, never concurrently
 * for one request; implementations must not block (hand off to the transport's buffer).
 */
public interface GenerationListener {

  /** A generated token; {@code index} counts from 0. */
  void onToken(int token, int index);

  /** The last call for this request. */
  void onFinished(FinishReason reason, int promptTokens, int completionTokens);
}
