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
import io.infermesh.api.v1.ModelState;
import io.infermesh.api.v1.RollbackRequest;
import io.infermesh.api.v1.UndrainRequest;
import io.infermesh.core.lifecycle.HostedVersion;
import io.infermesh.core.lifecycle.ModelHost;
import io.infermesh.core.status.CoreException;
import io.infermesh.core.status.StatusMapping;
import io.infermesh.node.admin.Rotation;
import io.infermesh.node.admin.SwapOrder;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code infermesh.v1.Admin} on a core node (stage 0 of a pipeline included): listings from the
 * {@link ModelHost}, swaps and rollbacks through the {@link ModelSwitch}, drain through the
 * node's {@link Rotation}. Every request is checked ({@link SwapOrder}) before the disk is
 * touched. Authorized for role operator by the node's policy. Thread-safe.
 */
public final class CoreAdminService extends AdminGrpc.AdminImplBase {
  private static final Logger log = LoggerFactory.getLogger(CoreAdminService.class);

  private final ModelHost host;
  private final ModelSwitch models; // null on a node that forwards to an upstream engine
  private final Rotation rotation;
  private final BooleanSupplier ready;
  private final String nodeId;
  private final Supplier<Path> modelDir;

  /**
   * @param models null when the node loads no model (engine.type upstream)
   * @param ready whether the node reports SERVING now
   * @param modelDir the directory relative paths resolve against (that of model.path), or null
   */
  public CoreAdminService(ModelHost host, ModelSwitch models, Rotation rotation, BooleanSupplier ready, String nodeId,
      Supplier<Path> modelDir) {
    this.host = requireNonNull(host, "host");
    this.models = models;
    this.rotation = requireNonNull(rotation, "rotation");
    this.ready = requireNonNull(ready, "ready");
    this.nodeId = requireNonNull(nodeId, "nodeId");
    this.modelDir = requireNonNull(modelDir, "modelDir");
  }

  @Override
  public void listModels(ListModelVersionsRequest request, StreamObserver<ListModelVersionsResponse> out) {
    ListModelVersionsResponse.Builder r = ListModelVersionsResponse.newBuilder().setDrained(rotation.drained())
        .setNodeId(nodeId);
    Optional<HostedVersion> draining = host.draining();
    host.serving().ifPresent(v -> r.addModels(AdminWire.version(v, ModelState.MODEL_STATE_SERVING)));
    draining.ifPresent(v -> r.addModels(AdminWire.version(v, ModelState.MODEL_STATE_DRAINING)));
    host.previous().filter(p -> draining.map(d -> d != p).orElse(true))
        .filter(p -> host.serving().map(s -> s != p).orElse(true))
        .ifPresent(v -> r.addModels(AdminWire.version(v, ModelState.MODEL_STATE_PREVIOUS)));
    out.onNext(r.build());
    out.onCompleted();
  }

  @Override
  public void loadModel(LoadModelRequest request, StreamObserver<LoadModelResponse> out) {
    try {
      SwapOrder order;
      try {
        order = SwapOrder.of(request.getPath(), request.getSha256Map(), request.getDrainTimeoutMs(),
            request.getVersion(), modelDir.get());
      } catch (IllegalArgumentException e) {
        throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, e.getMessage());
      }
      ModelSwitch.Swapped s = switcher().load(order);
      log.info("operator swap: now serving {} (replaced {})", s.serving().model().version(),
          s.replaced().map(v -> v.model().version()).orElse("nothing"));
      reply(out, s);
    } catch (RuntimeException e) {
      out.onError(StatusMapping.toException(e));
    }
  }

  @Override
  public void rollback(RollbackRequest request, StreamObserver<LoadModelResponse> out) {
    try {
      ModelSwitch.Swapped s;
      try {
        s = switcher().rollback(SwapOrder.drain(request.getDrainTimeoutMs()));
      } catch (IllegalArgumentException e) {
        throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, e.getMessage());
      }
      log.info("operator rollback: now serving {}", s.serving().model().version());
      reply(out, s);
    } catch (RuntimeException e) {
      out.onError(StatusMapping.toException(e));
    }
  }

  private ModelSwitch switcher() {
    if (models == null) {
      throw CoreException.of(CoreException.Kind.FAILED_PRECONDITION, "this node forwards to an upstream engine"
          + " (engine.type upstream) and loads no model");
    }
    return models;
  }

  private static void reply(StreamObserver<LoadModelResponse> out, ModelSwitch.Swapped s) {
    LoadModelResponse.Builder r = LoadModelResponse.newBuilder()
        .setServing(AdminWire.version(s.serving(), ModelState.MODEL_STATE_SERVING)).addAllStageIds(s.stageIds());
    s.replaced().ifPresent(v -> r.setReplaced(AdminWire.version(v,
        v.model().serving() || v.model().inFlight() > 0 ? ModelState.MODEL_STATE_DRAINING
            : ModelState.MODEL_STATE_PREVIOUS)));
    out.onNext(r.build());
    out.onCompleted();
  }

  @Override
  public void drain(DrainRequest request, StreamObserver<DrainResponse> out) {
    rotation.drain(true);
    log.info("operator drained this node ({} calls in flight)", rotation.inFlight());
    out.onNext(state());
    out.onCompleted();
  }

  @Override
  public void undrain(UndrainRequest request, StreamObserver<DrainResponse> out) {
    rotation.drain(false);
    log.info("operator undrained this node");
    out.onNext(state());
    out.onCompleted();
  }

  private DrainResponse state() {
    return AdminWire.rotation(rotation, ready);
  }
}
