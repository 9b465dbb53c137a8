package io.infermesh.core.status;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.infermesh.core.schedule.FinishReason;
import io.infermesh.node.grpc.MeshTrailers;
import java.util.concurrent.CancellationException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The core's one table from failures to gRPC status:
 *
 * <table>
 *   <caption>failure → status</caption>
 *   <tr><td>{@link CoreException}</td><td>its kind, with a {@code retry-after-ms} trailer when it has a hint</td></tr>
 *   <tr><td>{@code StatusRuntimeException}, {@code StatusException}</td><td>as is (a peer's answer)</td></tr>
 *   <tr><td>{@code InvalidProtocolBufferException}</td><td>INVALID_ARGUMENT (a request that does not parse)</td></tr>
 *   <tr><td>{@code RejectedExecutionException}</td><td>RESOURCE_EXHAUSTED</td></tr>
 *   <tr><td>{@code TimeoutException}</td><td>DEADLINE_EXCEEDED</td></tr>
 *   <tr><td>{@code CancellationException}</td><td>CANCELLED</td></tr>
 *   <tr><td>anything else</td><td>INTERNAL, logged with its cause</td></tr>
 * </table>
 *
 * <p>A request that does not parse never reaches a service: certs' {@code MeshServer} answers it
 * with INVALID_ARGUMENT before any handler runs (grpc-java's own answer would be UNKNOWN). Every
 * description is cut to {@value #MAX_DESCRIPTION} characters, so it always fits the client's
 * metadata limit; the messages themselves echo at most {@link ClientText#MAX_ECHO} characters of
 * a client's text.
 *
 * <p>Stateless; thread-safe.
 */
public final class StatusMapping {
  /** Trailer with the back-off hint on RESOURCE_EXHAUSTED ({@link MeshTrailers}). */
  public static final Metadata.Key<String> RETRY_AFTER_MS = MeshTrailers.RETRY_AFTER_MS;

  /** Longest status description sent, in characters. */
  public static final int MAX_DESCRIPTION = 1024;

  private static final Logger log = LoggerFactory.getLogger(StatusMapping.class);

  private StatusMapping() {}

  /** The status {@code t} reaches a client as. */
  public static Status toStatus(Throwable t) {
    Status s = map(t);
    String d = s.getDescription();
    return d != null && d.length() > MAX_DESCRIPTION ? s.withDescription(d.substring(0, MAX_DESCRIPTION) + "…") : s;
  }

  private static Status map(Throwable t) {
    if (t instanceof CoreException e) {
      return code(e.kind()).withDescription(e.getMessage());
    }
    if (t instanceof StatusRuntimeException e) {
      return e.getStatus();
    }
    if (t instanceof StatusException e) {
      return e.getStatus();
    }
    if (t instanceof InvalidProtocolBufferException) {
      return Status.INVALID_ARGUMENT.withDescription("the request is not a valid protobuf encoding");
    }
    if (t instanceof RejectedExecutionException) {
      return Status.RESOURCE_EXHAUSTED.withDescription("overloaded; back off and retry");
    }
    if (t instanceof TimeoutException) {
      return Status.DEADLINE_EXCEEDED.withDescription("timed out");
    }
    if (t instanceof CancellationException) {
      return Status.CANCELLED.withDescription("cancelled");
    }
    log.error("unexpected failure, answered as INTERNAL", t);
    return Status.INTERNAL.withDescription("internal error");
  }

  /** {@code t} as an exception to hand to {@code StreamObserver.onError}, with trailers. */
  public static StatusRuntimeException toException(Throwable t) {
    Metadata trailers = new Metadata();
    if (t instanceof CoreException e && e.retryAfterMillis() >= 0) {
      trailers.put(RETRY_AFTER_MS, Long.toString(e.retryAfterMillis()));
    } else if (t instanceof StatusRuntimeException e && e.getTrailers() != null) {
      trailers.merge(e.getTrailers());
    }
    return toStatus(t).asRuntimeException(trailers);
  }

  /**
   * The status a request that ended with {@code reason} fails with; null for the reasons that end
   * it normally (STOP, LENGTH).
   */
  public static Status forFinish(FinishReason reason) {
    return switch (reason) {
      case STOP, LENGTH -> null;
      case CANCELLED -> Status.CANCELLED.withDescription("cancelled");
      case DEADLINE_EXCEEDED -> Status.DEADLINE_EXCEEDED.withDescription("deadline passed during generation");
      case FAILED -> Status.UNAVAILABLE.withDescription("the engine failed; retry elsewhere");
    };
  }

  private static Status code(CoreException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
      case NOT_FOUND -> Status.NOT_FOUND;
      case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
      case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
      case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
      case UNAVAILABLE -> Status.UNAVAILABLE;
      case DEADLINE_EXCEEDED -> Status.DEADLINE_EXCEEDED;
      case CANCELLED -> Status.CANCELLED;
      case ABORTED -> Status.ABORTED;
    };
  }
}
