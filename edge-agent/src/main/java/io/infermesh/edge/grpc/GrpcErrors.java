package io.infermesh.edge.grpc;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.node.grpc.MeshTrailers;

/**
 * The one place where failures become gRPC statuses, following {@code Status.Code}'s guidance:
 * INVALID_ARGUMENT and NOT_FOUND are not retried, RESOURCE_EXHAUSTED backs off for the {@code
 * retry-after-ms} trailer, UNAVAILABLE retries (elsewhere). Descriptions are the same messages
 * the HTTP API sends. Stateless; thread-safe.
 */
final class GrpcErrors {
  /** Trailer carrying the back-off hint of a RESOURCE_EXHAUSTED answer, in milliseconds. */
  static final Metadata.Key<String> RETRY_AFTER_MS = MeshTrailers.RETRY_AFTER_MS;

  private GrpcErrors() {}

  static Status.Code code(EdgeException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
      case UNAUTHENTICATED -> Status.Code.UNAUTHENTICATED;
      case NOT_FOUND -> Status.Code.NOT_FOUND;
      case RATE_LIMITED, QUEUE_FULL -> Status.Code.RESOURCE_EXHAUSTED;
      case UNAVAILABLE -> Status.Code.UNAVAILABLE;
      case DEADLINE_EXCEEDED -> Status.Code.DEADLINE_EXCEEDED;
      case CANCELLED -> Status.Code.CANCELLED;
      case INTERNAL -> Status.Code.INTERNAL;
    };
  }

  /**
   * {@code e} as a status exception with its trailers. The description is cut to {@value
   * #MAX_DESCRIPTION} characters: it travels in a trailer, and one past the client's metadata limit
   * would reach it as RESOURCE_EXHAUSTED instead of the real error.
   */
  static StatusRuntimeException toStatus(EdgeException e) {
    Metadata trailers = new Metadata();
    e.retryAfter().ifPresent(d -> trailers.put(RETRY_AFTER_MS, Long.toString(Math.max(1, d.toMillis()))));
    return Status.fromCode(code(e.kind())).withDescription(bounded(e.getMessage())).asRuntimeException(trailers);
  }

  /** Longest status description sent, in characters. */
  static final int MAX_DESCRIPTION = 1024;

  static String bounded(String description) {
    return description == null || description.length() <= MAX_DESCRIPTION ? description
        : description.substring(0, MAX_DESCRIPTION) + "…";
  }
}
