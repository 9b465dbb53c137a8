package io.infermesh.core.admin;

import static java.util.Objects.requireNonNull;

import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.AdminGrpc;
import io.infermesh.api.v1.DrainRequest;
import io.infermesh.api.v1.DrainResponse;
import io.infermesh.api.v1.ListModelVersionsRequest;
import io.infermesh.api.v1.ListModelVersionsResponse;
import io.infermesh.api.v1.LoadModelRequest;
import io.infermesh.api.v1.LoadModelResponse;
import io.infermesh.api.v1.RollbackRequest;
import io.infermesh.api.v1.UndrainRequest;
import io.infermesh.core.shard.StageVersions;
import io.infermesh.core.status.CoreException;
import io.infermesh.core.status.StatusMapping;
import io.infermesh.node.admin.Rotation;
import java.util.function.BooleanSupplier;

/**
 * {@code infermesh.v1.Admin} on a later pipeline stage: it lists the versions of its layers and
 * drains, but swaps only with its pipeline, so LoadModel and Rollback are refused with
 * FAILED_PRECONDITION pointing at stage 0. Thread-safe.
 */
public final class StageAdminService extends AdminGrpc.AdminImplBase {
  private final StageVersions versions;
  private final Rotation rotation;
  private final BooleanSupplier ready;
  private final String nodeId;
  private final int stageIndex;

  public StageAdminService(StageVersions versions, Rotation rotation, BooleanSupplier ready, String nodeId,
      int stageIndex) {
    this.versions = requireNonNull(versions, "versions");
    this.rotation = requireNonNull(rotation, "rotation");
    this.ready = requireNonNull(ready, "ready");
    this.nodeId = requireNonNull(nodeId, "nodeId");
    this.stageIndex = stageIndex;
  }

  @Override
  public void listModels(ListModelVersionsRequest request, StreamObserver<ListModelVersionsResponse> out) {
    ListModelVersionsResponse.Builder r = ListModelVersionsResponse.newBuilder().setDrained(rotation.drained())
        .setNodeId(nodeId);
    versions.list().forEach(v -> r.addModels(AdminWire.version(v)));
    out.onNext(r.build());
    out.onCompleted();
  }

  @Override
  public void loadModel(LoadModelRequest request, StreamObserver<LoadModelResponse> out) {
    out.onError(StatusMapping.toException(swapsWithItsPipeline()));
  }

  @Override
  public void rollback(RollbackRequest request, StreamObserver<LoadModelResponse> out) {
    out.onError(StatusMapping.toException(swapsWithItsPipeline()));
  }

  private CoreException swapsWithItsPipeline() {
    return CoreException.of(CoreException.Kind.FAILED_PRECONDITION, "this is pipeline stage " + stageIndex
        + ": it swaps with its pipeline; send LoadModel or Rollback to stage 0");
  }

  @Override
  public void drain(DrainRequest request, StreamObserver<DrainResponse> out) {
    rotation.drain(true);
    out.onNext(state());
    out.onCompleted();
  }

  @Override
  public void undrain(UndrainRequest request, StreamObserver<DrainResponse> out) {
    rotation.drain(false);
    out.onNext(state());
    out.onCompleted();
  }

  private DrainResponse state() {
    return AdminWire.rotation(rotation, ready);
  }
}
