package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.EmbedResponse;
import io.infermesh.api.v1.Embedding;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import io.infermesh.api.v1.ListModelsResponse;
import io.infermesh.api.v1.ModelInfo;
import io.infermesh.api.v1.Route;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.api.v1.Tier;
import io.infermesh.api.v1.Usage;
import io.infermesh.certs.RoleAuthorizationInterceptor;
import io.infermesh.certs.SpiffeId;
import io.infermesh.core.schedule.Admission;
import io.infermesh.core.status.CoreException;
import io.infermesh.core.status.StatusMapping;
import io.infermesh.node.telemetry.Tracing;
import io.opentelemetry.api.trace.Tracer;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The core's one {@code infermesh.v1.Inference} service, over whichever engine the node runs (an
 * {@link InferenceBackend}: the built-in batch loop or an OpenAI-compatible upstream), the way the
 * edge's completion path sits over its engine and its escalator. What does not depend on the
 * engine happens here, once: validation (INVALID_ARGUMENT naming the field, see {@link
 * GenerateCall}), the model-alias check (NOT_FOUND), ServedBy, the call's meters, the mapping of
 * every failure to a status ({@link StatusMapping}) and RESOURCE_EXHAUSTED with a {@code
 * retry-after-ms} trailer when the backend's queue is full; the caller's tenant and its limits
 * ({@link Governance}: PERMISSION_DENIED naming {@code tenant} from a caller that may not vouch for
 * one, RESOURCE_EXHAUSTED naming the limit), checked before any backend is asked, and one audit
 * record per call when it ends. The backend admits, generates, streams,
 * embeds and lists. Cancelling the call or passing its deadline stops it in the backend at once
 * (the built-in engine frees its KV blocks; an upstream's connection is closed).
 *
 * <p>The caller's {@code request_id} is a label: echoed in every chunk and written to the logs,
 * never a key. Each call is keyed in the backend by an id of its own (a random UUID), so two calls
 * with the same {@code request_id} — a client's retry while its first try is still being torn
 * down, or two edges that picked the same id — both run, and cancelling one never touches the
 * other.
 *
 * <p>Thread-safe.
 */
public final class InferenceService extends InferenceGrpc.InferenceImplBase {
  /** Trailer with the back-off hint on RESOURCE_EXHAUSTED. */
  public static final Metadata.Key<String> RETRY_AFTER_MS = StatusMapping.RETRY_AFTER_MS;

  private final InferenceBackend backend;
  private final ServedBy node; // tier, node id, region and route: what every answer of this node shares
  private final CoreMetrics metrics;
  private final LongSupplier nanoTime;
  private final Governance governance;
  private final Tracer tracer;

  /**
   * The service of node {@code nodeId} (its SPIFFE ID) in {@code region} over {@code backend};
   * calls are timed on {@code nanoTime}; no tenant checks, no audit log.
   */
  InferenceService(InferenceBackend backend, String nodeId, String region, CoreMetrics metrics,
      LongSupplier nanoTime) {
    this(backend, nodeId, region, metrics, nanoTime, Governance.off(metrics));
  }

  /** As above, each call admitted for its tenant and audited by {@code governance}. */
  InferenceService(InferenceBackend backend, String nodeId, String region, CoreMetrics metrics,
      LongSupplier nanoTime, Governance governance) {
    this(backend, nodeId, region, metrics, nanoTime, governance, Tracing.off().tracer());
  }

  /**
   * As above, each call's queue, prefill and decode recorded as spans of {@code tracer}, children of
   * the span current when the call arrives (the server span of {@link Tracing#serverInterceptor()}).
   */
  InferenceService(InferenceBackend backend, String nodeId, String region, CoreMetrics metrics,
      LongSupplier nanoTime, Governance governance, Tracer tracer) {
    this.tracer = requireNonNull(tracer, "tracer");
    this.governance = requireNonNull(governance, "governance");
    this.backend = requireNonNull(backend, "backend");
    this.node = ServedBy.newBuilder().setTier(Tier.TIER_CORE).setRoute(Route.ROUTE_CORE)
        .setNodeId(requireNonNull(nodeId, "nodeId")).setRegion(requireNonNull(region, "region")).build();
    this.metrics = requireNonNull(metrics, "metrics");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
  }

  @Override
  public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> out) {
    ListModelsResponse.Builder b = ListModelsResponse.newBuilder();
    backend.listing().ifPresent(l -> b.addModels(ModelInfo.newBuilder().setName(l.model().name())
        .setVersion(l.model().version()).setTier(Tier.TIER_CORE).setContextLength(l.contextLength())
        .setReady(l.ready())));
    out.onNext(b.build());
    out.onCompleted();
  }

  @Override
  public void generate(GenerateRequest request, StreamObserver<GenerateChunk> responses) {
    ServerCallStreamObserver<GenerateChunk> out = (ServerCallStreamObserver<GenerateChunk>) responses;
    Optional<SpiffeId> caller = RoleAuthorizationInterceptor.currentPeer();
    CallEnd end = governance.begin(caller, request.getRequestId(), request.getTenant(), reason(request));
    try {
      GenerateCall call = GenerateCall.check(request, backend.modelName(), deadlineNanos());
      end.requestId(call.requestId());
      governance.admit(end, caller, request, call.choices()); // before any backend is asked
      Optional<String> pin = ModelVersionPin.of(request);
      if (pin.isPresent()) { // the version now; a swap between here and prepare serves the new one
        backend.listing().ifPresent(l -> ModelVersionPin.check(pin.get(), l.model()));
      }
      InferenceBackend.Generation generation = backend.prepare(call);
      end.model(generation.model());
      // from here to start nothing throws: a prepared generation is always started
      ChunkStream stream = new ChunkStream(call, out, servedBy(generation.model(), request), metrics, nanoTime, end);
      out.setOnCancelHandler(generation::cancel); // the backend then ends the stream as CANCELLED
      TracedSink traced = new TracedSink(stream, tracer, io.opentelemetry.context.Context.current());
      if (generation.start(traced) instanceof Admission.Rejected r) {
        traced.refused("RESOURCE_EXHAUSTED");
        metrics.rejected(call.priority());
        throw CoreException.resourceExhausted(r.reason() + "; retry after " + r.retryAfterMillis() + " ms",
            r.retryAfterMillis());
      }
    } catch (RuntimeException e) {
      StatusRuntimeException status = StatusMapping.toException(e);
      end.end(status.getStatus().getCode(), 0, 0); // nothing was generated
      out.onError(status);
    }
  }

  @Override
  public void embed(EmbedRequest request, StreamObserver<EmbedResponse> out) {
    Optional<SpiffeId> caller = RoleAuthorizationInterceptor.currentPeer();
    CallEnd end = governance.begin(caller, request.getRequestId(), request.getTenant(), "direct");
    try {
      RequestValidator.embed(request, backend.modelName());
      governance.admit(end, caller, request);
      InferenceBackend.Embeddings e = backend.embed(request);
      end.model(e.model());
      EmbedResponse.Builder b = EmbedResponse.newBuilder();
      for (float[] vector : e.vectors()) {
        Embedding.Builder v = Embedding.newBuilder();
        for (float x : vector) {
          v.addValues(x);
        }
        b.addEmbeddings(v);
      }
      out.onNext(b.setUsage(Usage.newBuilder().setPromptTokens(e.promptTokens()))
          .setServedBy(node.toBuilder().setModel(e.model().name()).setModelVersion(e.model().version())
              .setRouteReason("direct"))
          .build());
      out.onCompleted();
      end.end(Status.Code.OK, e.promptTokens(), 0);
    } catch (RuntimeException e) {
      StatusRuntimeException status = StatusMapping.toException(e);
      end.end(status.getStatus().getCode(), 0, 0);
      out.onError(status);
    }
  }

  /** Who serves {@code request}: this node, {@code model}, and why it came here (the edge's reason, or direct). */
  private ServedBy servedBy(InferenceBackend.ModelRef model, GenerateRequest request) {
    return node.toBuilder().setModel(model.name()).setModelVersion(model.version())
        .setRouteReason(reason(request)).build();
  }

  /** Why {@code request} came to the core: the escalating edge's reason, or {@code direct}. */
  private static String reason(GenerateRequest request) {
    return request.hasEscalation() ? request.getEscalation().getReason() : "direct";
  }

  /** The call's deadline on {@link #nanoTime}, or {@code Long.MAX_VALUE} for none. */
  private long deadlineNanos() {
    Deadline deadline = Context.current().getDeadline();
    return deadline == null ? Long.MAX_VALUE
        : nanoTime.getAsLong() + Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS));
  }
}
