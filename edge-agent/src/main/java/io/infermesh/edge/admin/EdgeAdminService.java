package io.infermesh.edge.admin;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.AdminGrpc;
import io.infermesh.api.v1.DrainRequest;
import io.infermesh.api.v1.DrainResponse;
import io.infermesh.api.v1.ListModelVersionsRequest;
import io.infermesh.api.v1.ListModelVersionsResponse;
import io.infermesh.api.v1.LoadModelRequest;
import io.infermesh.api.v1.LoadModelResponse;
import io.infermesh.api.v1.ModelState;
import io.infermesh.api.v1.ModelVersion;
import io.infermesh.api.v1.RollbackRequest;
import io.infermesh.api.v1.UndrainRequest;
import io.infermesh.api.v1.WeightFile;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.swap.EngineVersions;
import io.infermesh.node.admin.Rotation;
import io.infermesh.node.admin.SwapOrder;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code infermesh.v1.Admin} on an edge agent: listings from the {@link EngineVersions}, swaps and
 * rollbacks through the {@link EdgeModelSwitch}, drain through the agent's {@link Rotation} (which
 * the request path and readiness read). Every request is checked ({@link SwapOrder}) before the
 * disk is touched. Authorized for role operator by the gRPC server's policy. Thread-safe.
 */
public final class EdgeAdminService extends AdminGrpc.AdminImplBase {
  private static final Logger log = LoggerFactory.getLogger(EdgeAdminService.class);

  private final CompletionService service;
  private final EdgeModelSwitch models;
  private final Rotation rotation;
  private final Supplier<String> nodeId;

  /** {@code nodeId}: the SPIFFE ID of this edge, known once its server started. */
  public EdgeAdminService(CompletionService service, EdgeModelSwitch models, Rotation rotation,
      Supplier<String> nodeId) {
    this.service = requireNonNull(service, "service");
    this.models = requireNonNull(models, "models");
    this.rotation = requireNonNull(rotation, "rotation");
    this.nodeId = requireNonNull(nodeId, "nodeId");
  }

  @Override
  public void listModels(ListModelVersionsRequest request, StreamObserver<ListModelVersionsResponse> out) {
    ListModelVersionsResponse.Builder r = ListModelVersionsResponse.newBuilder().setDrained(rotation.drained())
        .setNodeId(nodeId.get());
    service.versions().list().forEach(v -> r.addModels(version(v)));
    out.onNext(r.build());
    out.onCompleted();
  }

  @Override
  public void loadModel(LoadModelRequest request, StreamObserver<LoadModelResponse> out) {
    swap(out, "swap", () -> models.load(SwapOrder.of(request.getPath(), request.getSha256Map(),
        request.getDrainTimeoutMs(), request.getVersion(), models.modelDirectory())));
  }

  @Override
  public void rollback(RollbackRequest request, StreamObserver<LoadModelResponse> out) {
    swap(out, "rollback", () -> models.rollback(SwapOrder.drain(request.getDrainTimeoutMs())));
  }

  /** Runs a swap or rollback; a malformed field ({@link SwapOrder}'s refusal) is INVALID_ARGUMENT. */
  private static void swap(StreamObserver<LoadModelResponse> out, String what,
      Supplier<EdgeModelSwitch.Swapped> action) {
    try {
      EdgeModelSwitch.Swapped s;
      try {
        s = action.get();
      } catch (IllegalArgumentException e) {
        throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
      }
      log.info("operator {}: now serving {} (replaced {})", what, s.serving().version(),
          s.replaced().map(EngineVersions.Listed::version).orElse("nothing"));
      reply(out, s);
    } catch (StatusRuntimeException e) {
      log.info("operator {} refused: {}", what, e.getStatus());
      out.onError(e);
    }
  }

  @Override
  public void drain(DrainRequest request, StreamObserver<DrainResponse> out) {
    rotation.drain(true);
    log.info("operator drained this edge ({} requests in flight)", service.inFlight());
    out.onNext(state());
    out.onCompleted();
  }

  @Override
  public void undrain(UndrainRequest request, StreamObserver<DrainResponse> out) {
    rotation.drain(false);
    log.info("operator undrained this edge");
    out.onNext(state());
    out.onCompleted();
  }

  private DrainResponse state() {
    return DrainResponse.newBuilder().setDrained(rotation.drained()).setReady(service.ready())
        .setInFlight(service.inFlight()).build();
  }

  private static void reply(StreamObserver<LoadModelResponse> out, EdgeModelSwitch.Swapped s) {
    LoadModelResponse.Builder r = LoadModelResponse.newBuilder().setServing(version(s.serving()));
    s.replaced().ifPresent(v -> r.setReplaced(version(v)));
    out.onNext(r.build());
    out.onCompleted();
  }

  static ModelVersion version(EngineVersions.Listed v) {
    ModelState state = switch (v.state()) {
      case SERVING -> ModelState.MODEL_STATE_SERVING;
      case DRAINING -> ModelState.MODEL_STATE_DRAINING;
      case PREVIOUS -> ModelState.MODEL_STATE_PREVIOUS;
    };
    return ModelVersion.newBuilder().setName(v.name()).setVersion(v.version()).setState(state)
        .setPath(v.path().toString())
        .addWeightFiles(WeightFile.newBuilder().setFile(String.valueOf(v.path().getFileName()))
            .setSha256(v.fileSha256()))
        .setInFlight(v.inFlight()).build();
  }
}
