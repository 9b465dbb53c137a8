package io.infermesh.core.server;

import io.infermesh.api.v1.TokenLogprob;
import io.infermesh.core.schedule.FinishReason;
import java.util.List;

/**
 * Where a backend writes one call's output; the {@link InferenceService} turns it into chunks and
 * meters. Calls for one call come one at a time and in order (from whichever thread the backend
 * uses), and nothing comes after {@link #onFinished} or {@link #onFailed}.
 */
interface GenerationSink {

  /** Whether the caller went away: output is then dropped, and the backend may stop early. */
  boolean cancelled();

  /** The scheduler ran the call's first step (its prefill begins); not every backend reports it. */
  default void onScheduled() {}

  /** One more token was generated (counted; the first one's time is the time to first token). */
  void onToken();

  /**
   * Output of choice {@code choice} for the client: {@code text} (may be empty, e.g. half of a UTF-8
   * character) and the ids and log-probabilities of the tokens it came from (empty where the engine
   * does not report them).
   */
  void onOutput(int choice, String text, List<Integer> tokenIds, List<TokenLogprob> logprobs);

  /**
   * Choice {@code choice} ended, once per choice: STOP and LENGTH end it normally ({@code tail} is its
   * last text), the other reasons fail the call with their status ({@link
   * io.infermesh.core.status.StatusMapping#forFinish}). The call for the last open choice ({@code
   * last}) ends the call. Tokens the backend did not count with {@link #onToken} are counted from
   * {@code completionTokens}.
   */
  void onFinished(int choice, FinishReason reason, String tail, int promptTokens, int completionTokens, boolean last);

  /**
   * A draft of {@code drafted} tokens was verified for choice {@code choice}, {@code accepted} kept
   * (reported in usage and metrics). Ignored by default.
   */
  default void onDraftVerified(int choice, int drafted, int accepted) {}

  /**
   * The first {@code cachedTokens} prompt tokens came from the KV prefix cache; at most once, before
   * any output, and not at all on a miss. Not a default method: a sink that wraps another must pass
   * it on, or the call's {@code usage.cached_tokens} is lost.
   */
  void onPromptCached(int cachedTokens);

  /** The call failed with {@code error} (mapped by {@link io.infermesh.core.status.StatusMapping}). */
  void onFailed(Throwable error);
}
