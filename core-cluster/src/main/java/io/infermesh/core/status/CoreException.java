package io.infermesh.core.status;

import java.util.Objects;

/**
 * An expected failure with the gRPC code it should reach the client as; the message is the status
 * description, safe to show. Carries no stack trace (it is an outcome, not a bug).
 */
public final class CoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The outcome, named after the gRPC code it maps to. */
  public enum Kind {
    /** The request is malformed; the message names the field. Do not retry. */
    INVALID_ARGUMENT,
    /** The model is not served here. */
    NOT_FOUND,
    /** The caller may not ask this (e.g. name a tenant without the right to vouch for one); the message names the field. */
    PERMISSION_DENIED,
    /** Not until something is fixed (e.g. pipeline stages that disagree on the model). */
    FAILED_PRECONDITION,
    /** Back off: a queue or a limit is full; see {@link #retryAfterMillis()}. */
    RESOURCE_EXHAUSTED,
    /** This node cannot serve now (loading, draining, a stage or the upstream is down): retry elsewhere. */
    UNAVAILABLE,
    /** The deadline passed. */
    DEADLINE_EXCEEDED,
    /** The caller went away. */
    CANCELLED,
    /** A concurrent operation (e.g. another model swap) is in the way: retry later. */
    ABORTED
  }

  private final Kind kind;
  private final long retryAfterMillis;

  private CoreException(Kind kind, String message, long retryAfterMillis, Throwable cause) {
    super(message, cause, false, false);
    this.kind = Objects.requireNonNull(kind, "kind");
    this.retryAfterMillis = retryAfterMillis;
  }

  public static CoreException of(Kind kind, String message) {
    return new CoreException(kind, message, -1, null);
  }

  /** {@code cause} is kept for the logs; it never reaches the client. */
  public static CoreException of(Kind kind, String message, Throwable cause) {
    return new CoreException(kind, message, -1, cause);
  }

  public static CoreException unavailable(String message) {
    return of(Kind.UNAVAILABLE, message);
  }

  public static CoreException invalidArgument(String field, String reason) {
    return of(Kind.INVALID_ARGUMENT, field + ": " + reason);
  }

  /** RESOURCE_EXHAUSTED with a back-off hint ({@code retryAfterMillis} ≥ 0, or -1 for none). */
  public static CoreException resourceExhausted(String message, long retryAfterMillis) {
    return new CoreException(Kind.RESOURCE_EXHAUSTED, message, retryAfterMillis, null);
  }

  public Kind kind() {
    return kind;
  }

  /** The back-off hint in milliseconds, or -1. */
  public long retryAfterMillis() {
    return retryAfterMillis;
  }
}
