package io.infermesh.core.status;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The core's one table from failures to status: known types keep their meaning, anything else is INTERNAL. */
class StatusMappingTest {
  @Test
  void toStatus_knownTypes_mapToTheirCodes() {
    assertThat(StatusMapping.toStatus(CoreException.invalidArgument("model", "too long")))
        .extracting(Status::getCode, Status::getDescription).containsExactly(Status.Code.INVALID_ARGUMENT, "model: too long");
    assertThat(StatusMapping.toStatus(CoreException.unavailable("draining")).getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(StatusMapping.toStatus(new InvalidProtocolBufferException("bad tag")).getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(StatusMapping.toStatus(new RejectedExecutionException()).getCode())
        .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(StatusMapping.toStatus(new TimeoutException()).getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(StatusMapping.toStatus(new CancellationException()).getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(StatusMapping.toStatus(Status.NOT_FOUND.withDescription("peer").asRuntimeException()))
        .extracting(Status::getCode, Status::getDescription).containsExactly(Status.Code.NOT_FOUND, "peer");
  }

  @Test
  void toStatus_aBugsException_isInternalAndItsTextStaysInTheLog() {
    for (RuntimeException bug : new RuntimeException[] {new IllegalArgumentException("index 7 out of bounds"),
        new IllegalStateException("block 3 is not in use"), new NullPointerException("weights")}) {
      Status s = StatusMapping.toStatus(bug);

      assertThat(s.getCode()).as(bug.toString()).isEqualTo(Status.Code.INTERNAL); // never "retry this" or "your fault"
      assertThat(s.getDescription()).isEqualTo("internal error");
    }
  }

  @Test
  void toException_resourceExhaustedWithAHint_carriesTheRetryAfterTrailer() {
    StatusRuntimeException e = StatusMapping.toException(CoreException.resourceExhausted("queue full", 250));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(e.getTrailers().get(StatusMapping.RETRY_AFTER_MS)).isEqualTo("250");
  }
}
