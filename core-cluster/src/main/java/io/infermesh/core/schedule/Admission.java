package io.infermesh.core.schedule;

/** The answer to {@link Scheduler#submit}. */
public sealed interface Admission {

  /** Queued; events follow. */
  record Accepted(String requestId) implements Admission {}

  /** Not queued: the queue is full. Back off for about {@code retryAfterMillis}. */
  record Rejected(String requestId, String reason, long retryAfterMillis) implements Admission {}
}
