package io.infermesh.core.schedule;

/** Why a request left the scheduler. */
public enum FinishReason {
  /** The model produced a stop token. */
  STOP,
  /** max_tokens was reached, or the context is full. */
  LENGTH,
  /** The client cancelled. */
  CANCELLED,
  /** The request's deadline passed. */
  DEADLINE_EXCEEDED,
  /** The engine failed while running it. */
  FAILED
}
