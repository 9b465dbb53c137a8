package io.infermesh.core.schedule;

/** What happened to a request during a step. */
public sealed interface SchedulerEvent {
  String requestId();

  /** Which of the request's choices, from 0. */
  int choice();

  /** A new token of a choice; {@code index} counts that choice's generated tokens from 0. */
  record Token(String requestId, int choice, int token, int index) implements SchedulerEvent {}

  /**
   * A choice ended and its KV blocks are released (shared prompt blocks stay with the other
   * choices); {@code last} when it was the request's last choice: the request has left the scheduler.
   */
  record Finished(String requestId, int choice, FinishReason reason, int promptTokens, int completionTokens,
      boolean last) implements SchedulerEvent {}

  /**
   * A draft of {@code drafted} tokens was verified for a choice, {@code accepted} of them kept; its
   * token events follow.
   */
  record DraftVerified(String requestId, int choice, int drafted, int accepted) implements SchedulerEvent {}

  /**
   * The request's first {@code cachedTokens} prompt tokens were found in the prefix cache and not
   * computed for it; at most once per request, before its first token.
   */
  record PromptCached(String requestId, int choice, int cachedTokens) implements SchedulerEvent {}
}
