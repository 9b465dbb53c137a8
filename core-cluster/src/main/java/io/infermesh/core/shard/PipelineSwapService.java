package io.infermesh.core.shard;

import static java.util.Objects.requireNonNull;

import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.PipelineSwapGrpc;
import io.infermesh.api.v1.StagePrepareReply;
import io.infermesh.api.v1.StagePrepareRequest;
import io.infermesh.api.v1.StageSwapReply;
import io.infermesh.api.v1.StageSwapRequest;
import io.infermesh.core.lifecycle.ModelSource;
import io.infermesh.core.lifecycle.StageModel;
import io.infermesh.core.lifecycle.WeightFiles;
import io.infermesh.core.status.CoreException;
import io.infermesh.core.status.StatusMapping;
import io.infermesh.node.admin.SwapOrder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code infermesh.v1.PipelineSwap} on a stage with index ≥ 1: a two-phase swap handed down the
 * chain. Prepare verifies every weight file and loads this stage's layers of the new version
 * beside the current ones, then asks the next stage; if that fails, the layers loaded here are
 * dropped before the failure goes back, so a failed prepare leaves every stage as it was. Commit
 * and abort run here, then on the next stage. Thread-safe (one swap at a time is stage 0's rule;
 * the version table is thread-safe on its own).
 */
public final class PipelineSwapService extends PipelineSwapGrpc.PipelineSwapImplBase {
  /** Loads this stage's layers of a verified model. */
  @FunctionalInterface
  public interface StageLoader {
    StageModel load(Path path) throws IOException;
  }

  private final StageVersions versions;
  private final StageLoader loader;
  private final String selfId;
  private final int stageIndex;
  private final NextStage next;
  private final Path modelDir;

  /**
   * @param next the next stage, or null on the last one
   * @param modelDir where relative paths are resolved (the directory of {@code model.path}), or null
   */
  public PipelineSwapService(StageVersions versions, StageLoader loader, String selfId, int stageIndex,
      NextStage next, Path modelDir) {
    this.versions = requireNonNull(versions, "versions");
    this.loader = requireNonNull(loader, "loader");
    this.selfId = requireNonNull(selfId, "selfId");
    this.stageIndex = stageIndex;
    this.next = next;
    this.modelDir = modelDir;
  }

  @Override
  public void prepare(StagePrepareRequest request, StreamObserver<StagePrepareReply> out) {
    try {
      out.onNext(prepare(request));
      out.onCompleted();
    } catch (RuntimeException e) {
      out.onError(StatusMapping.toException(e));
    }
  }

  private StagePrepareReply prepare(StagePrepareRequest request) {
    SwapOrder order;
    try {
      order = SwapOrder.of(request.getPath(), request.getSha256Map(), 0, request.getVersion(), modelDir);
    } catch (IllegalArgumentException e) {
      throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, e.getMessage());
    }
    StageModel m;
    Map<String, String> digests;
    try {
      digests = WeightFiles.verify(order.path(), order.sha256());
      m = loader.load(order.path());
    } catch (IOException e) {
      throw local(CoreException.of(CoreException.Kind.FAILED_PRECONDITION, e.getMessage(), e));
    } catch (CoreException e) {
      throw local(e);
    }
    String sha = m.sha256();
    boolean fresh = !versions.holds(sha);
    String label = order.version().isEmpty() ? "sha256:" + sha.substring(0, 12) : order.version();
    versions.prepare(m, label, new ModelSource(order.path(), order.sha256(), order.version()), digests);
    List<String> ids = new ArrayList<>(List.of(selfId));
    if (next != null) {
      try {
        ids.addAll(next.swaps().prepare(request).getStageIdsList());
      } catch (RuntimeException e) {
        if (fresh) {
          versions.abort(sha);
        }
        throw e;
      }
    }
    return StagePrepareReply.newBuilder().setModelSha256(sha).addAllStageIds(ids).build();
  }

  private CoreException local(CoreException e) {
    return CoreException.of(e.kind(), "stage " + stageIndex + " (" + selfId + "): " + e.getMessage(), e);
  }

  @Override
  public void commit(StageSwapRequest request, StreamObserver<StageSwapReply> out) {
    try {
      Duration drain = SwapOrder.drain(request.getDrainTimeoutMs());
      versions.commit(request.getModelSha256(), drain);
      List<String> ids = new ArrayList<>(List.of(selfId));
      if (next != null) {
        ids.addAll(next.swaps().commit(request.getModelSha256(), request.getDrainTimeoutMs()));
      }
      out.onNext(StageSwapReply.newBuilder().addAllStageIds(ids).build());
      out.onCompleted();
    } catch (IllegalArgumentException e) {
      out.onError(StatusMapping.toException(CoreException.of(CoreException.Kind.INVALID_ARGUMENT, e.getMessage())));
    } catch (RuntimeException e) {
      out.onError(StatusMapping.toException(e));
    }
  }

  @Override
  public void abort(StageSwapRequest request, StreamObserver<StageSwapReply> out) {
    versions.abort(request.getModelSha256());
    if (next != null) {
      next.swaps().abort(request.getModelSha256());
    }
    out.onNext(StageSwapReply.newBuilder().addStageIds(selfId).build());
    out.onCompleted();
  }
}
