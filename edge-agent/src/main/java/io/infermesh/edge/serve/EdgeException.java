package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Why a request was refused or failed, in transport-neutral terms. The HTTP and gRPC layers each
 * map it in one place ({@code HttpErrors}, {@code GrpcErrors}). Messages are safe to show a client;
 * causes stay in logs.
 */
public final class EdgeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The kinds of failure, each with one HTTP status and one gRPC code. */
  public enum Kind {
    /** Malformed or out of range; {@link #param()} names the field. */
    INVALID_ARGUMENT,
    /** A missing or unknown API key. */
    UNAUTHENTICATED,
    /** The model is not served here. */
    NOT_FOUND,
    /** A tenant's request or token rate limit; see {@link #retryAfter()}. */
    RATE_LIMITED,
    /** The admission queue is full; see {@link #retryAfter()}. */
    QUEUE_FULL,
    /** Cannot serve now (loading, draining): retry, possibly elsewhere. */
    UNAVAILABLE,
    /** The request's deadline passed. */
    DEADLINE_EXCEEDED,
    /** The caller went away. */
    CANCELLED,
    /** A bug or an engine failure. */
    INTERNAL;

    /** The metric/log word, e.g. {@code queue_full}. */
    public String metricName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Kind kind;
  private final String param;
  private final String code;
  private final Duration retryAfter;

  private EdgeException(Kind kind, String message, String param, String code, Duration retryAfter, Throwable cause) {
    super(requireNonNull(message, "message"), cause);
    this.kind = requireNonNull(kind, "kind");
    this.param = param;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** A malformed or out-of-range field; the message should start with the field's name. */
  public static EdgeException invalid(String param, String message) {
    return new EdgeException(Kind.INVALID_ARGUMENT, message, param, null, null, null);
  }

  /** Like {@link #invalid(String, String)} with an OpenAI error code, e.g. {@code context_length_exceeded}. */
  public static EdgeException invalid(String param, String code, String message) {
    return new EdgeException(Kind.INVALID_ARGUMENT, message, param, code, null, null);
  }

  public static EdgeException unauthenticated(String code, String message) {
    return new EdgeException(Kind.UNAUTHENTICATED, message, null, code, null, null);
  }

  /** An object (a file, a batch) that does not exist or is not the caller's. */
  public static EdgeException notFound(String message) {
    return new EdgeException(Kind.NOT_FOUND, message, null, null, null, null);
  }

  public static EdgeException modelNotFound(String message) {
    return new EdgeException(Kind.NOT_FOUND, message, "model", "model_not_found", null, null);
  }

  /** A rate limit; {@code code} is {@code requests} or {@code tokens}. */
  public static EdgeException rateLimited(String code, String message, Duration retryAfter) {
    return new EdgeException(Kind.RATE_LIMITED, message, null, code, requireNonNull(retryAfter), null);
  }

  public static EdgeException queueFull(String message, Duration retryAfter) {
    return new EdgeException(Kind.QUEUE_FULL, message, null, "queue_full", requireNonNull(retryAfter), null);
  }

  public static EdgeException unavailable(String message) {
    return new EdgeException(Kind.UNAVAILABLE, message, null, "unavailable", null, null);
  }

  public static EdgeException deadlineExceeded(String message) {
    return new EdgeException(Kind.DEADLINE_EXCEEDED, message, null, "deadline_exceeded", null, null);
  }

  public static EdgeException cancelled(String message) {
    return new EdgeException(Kind.CANCELLED, message, null, null, null, null);
  }

  public static EdgeException internal(String message, Throwable cause) {
    return new EdgeException(Kind.INTERNAL, message, null, null, null, cause);
  }

  public Kind kind() {
    return kind;
  }

  /** The offending request field (OpenAI spelling, e.g. {@code messages[0].role}), if any. */
  public Optional<String> param() {
    return Optional.ofNullable(param);
  }

  /** A machine-readable code (OpenAI's where one exists), if any. */
  public Optional<String> code() {
    return Optional.ofNullable(code);
  }

  /** How long a client should back off, for {@link Kind#RATE_LIMITED} and {@link Kind#QUEUE_FULL}. */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  /** {@code d} in whole seconds, rounded up and at least 1: a retry hint as messages state it. */
  static long seconds(Duration d) {
    return Math.max(1, (d.toMillis() + 999) / 1000);
  }
}
