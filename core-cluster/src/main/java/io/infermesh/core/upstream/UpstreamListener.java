package io.infermesh.core.upstream;

import io.infermesh.core.status.CoreException;

/**
 * Hears one forwarded generation: text deltas, then exactly one of {@link #onFinished} or
 * {@link #onFailed} — unless the call was cancelled, after which nothing more is heard. Calls come
 * from the HTTP client's threads, one at a time, in order.
 */
public interface UpstreamListener {

  /** More generated text (never empty). */
  void onText(String delta);

  /**
   * The upstream finished.
   *
   * @param finishReason OpenAI's reason ({@code stop}, {@code length}, ...), or {@code stop} if none was sent
   * @param promptTokens from the usage, or -1 when not reported
   * @param completionTokens from the usage, or the number of text deltas when not reported
   */
  void onFinished(String finishReason, int promptTokens, int completionTokens);

  /** The call failed; the exception's kind says how the client should react. */
  void onFailed(CoreException error);
}
