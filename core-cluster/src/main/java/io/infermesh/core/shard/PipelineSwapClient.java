package io.infermesh.core.shard;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.PipelineSwapGrpc;
import io.infermesh.api.v1.StagePrepareReply;
import io.infermesh.api.v1.StagePrepareRequest;
import io.infermesh.api.v1.StageSwapReply;
import io.infermesh.api.v1.StageSwapRequest;
import io.infermesh.core.status.CoreException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The next stage's {@code PipelineSwap}: prepare, commit and abort a version on it and every
 * stage after it. A failure comes back as a {@link CoreException} of the same kind whose message
 * names the stage that answered. Thread-safe.
 */
public final class PipelineSwapClient {
  private static final Logger log = LoggerFactory.getLogger(PipelineSwapClient.class);
  /** Loading a large checkpoint on every stage takes a while. */
  private static final long PREPARE_SECONDS = 600;
  private static final long SWITCH_SECONDS = 30;

  private final PipelineSwapGrpc.PipelineSwapBlockingStub stub;
  private final String target;

  PipelineSwapClient(PipelineSwapGrpc.PipelineSwapBlockingStub stub, String target) {
    this.stub = requireNonNull(stub, "stub");
    this.target = requireNonNull(target, "target");
  }

  /** Loads the version on the next stage and every later one. */
  public StagePrepareReply prepare(StagePrepareRequest request) {
    try {
      return stub.withDeadlineAfter(PREPARE_SECONDS, TimeUnit.SECONDS).prepare(request);
    } catch (StatusRuntimeException e) {
      throw failed("prepare", e);
    }
  }

  /** Switches the next stage and every later one to the version with {@code sha256}. */
  public List<String> commit(String sha256, long drainMillis) {
    try {
      return stub.withDeadlineAfter(SWITCH_SECONDS, TimeUnit.SECONDS).commit(StageSwapRequest.newBuilder()
          .setModelSha256(sha256).setDrainTimeoutMs(drainMillis).build()).getStageIdsList();
    } catch (StatusRuntimeException e) {
      throw failed("commit", e);
    }
  }

  /** Drops the prepared version with {@code sha256} on the next stages; a failure is logged, not thrown. */
  public void abort(String sha256) {
    try {
      StageSwapReply r = stub.withDeadlineAfter(SWITCH_SECONDS, TimeUnit.SECONDS)
          .abort(StageSwapRequest.newBuilder().setModelSha256(sha256).build());
      log.info("aborted version {} on stages {}", sha256, r.getStageIdsList());
    } catch (StatusRuntimeException e) {
      log.warn("could not abort version {} on the stage at {} ({}); it unloads when that stage restarts", sha256,
          target, e.getStatus());
    }
  }

  private CoreException failed(String what, StatusRuntimeException e) {
    Status s = e.getStatus();
    CoreException.Kind kind = switch (s.getCode()) {
      case INVALID_ARGUMENT -> CoreException.Kind.INVALID_ARGUMENT;
      case NOT_FOUND -> CoreException.Kind.NOT_FOUND;
      case FAILED_PRECONDITION -> CoreException.Kind.FAILED_PRECONDITION;
      case ABORTED -> CoreException.Kind.ABORTED;
      case RESOURCE_EXHAUSTED -> CoreException.Kind.RESOURCE_EXHAUSTED;
      default -> CoreException.Kind.UNAVAILABLE;
    };
    String d = s.getDescription() == null ? s.getCode().toString() : s.getDescription();
    return CoreException.of(kind, (d.startsWith("stage ") ? "" : "stage at " + target + ": ") + what + " failed: " + d,
        e);
  }
}
