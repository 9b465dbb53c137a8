package io.infermesh.edge.escalate;

import io.grpc.Status;
import io.infermesh.edge.serve.EdgeException;
import java.time.Duration;

/**
 * The one mapping from the core's gRPC status to what the edge tells its caller. Descriptions from
 * the core are safe to show (the core promises that); causes stay in the logs.
 */
final class EscalationErrors {
  private EscalationErrors() {}

  static EdgeException toEdge(Status status) {
    String d = status.getDescription() == null ? status.getCode().name() : status.getDescription();
    return switch (status.getCode()) {
      case INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION -> EdgeException.invalid(null, "core: " + d);
      case NOT_FOUND -> EdgeException.modelNotFound("core: " + d);
      // a core without the method (an upstream bridge asked for embeddings): retrying will not help
      case UNIMPLEMENTED -> EdgeException.invalid(null, "core: " + d);
      case RESOURCE_EXHAUSTED -> EdgeException.queueFull("the core is busy: " + d, Duration.ofSeconds(1));
      case DEADLINE_EXCEEDED -> EdgeException.deadlineExceeded("the core did not answer in time: " + d);
      case CANCELLED -> EdgeException.cancelled("core: " + d);
      default -> EdgeException.unavailable("the core is unavailable: " + d);
    };
  }
}
