package io.infermesh.core.schedule;

/** What happened to a request during a step. */
public sealed interface SchedulerEvent {
  String requestId();

  /** A new token; {@code index} counts generated tokens from 0. */
  record Token(String requestId, int token, int index) implements SchedulerEvent {}

  /** The request left the scheduler and its KV blocks are free. */
  record Finished(String requestId, FinishReason reason, int promptTokens, int completionTokens)
      implements SchedulerEvent {}
}
