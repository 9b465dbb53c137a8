package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.core.schedule.Admission;
import java.util.List;
import java.util.Optional;

/**
 * The narrowest view of an engine the core's one {@link InferenceService} needs: what it serves,
 * and per call the engine-specific part of admitting, generating, streaming and embedding. The
 * service has already checked everything that does not depend on the engine (lengths, request id,
 * model alias, priority, sampling ranges, the input's shape) and maps every outcome to a gRPC
 * status; a backend checks only what it alone can (a prompt's length in tokens, the vocabulary,
 * features it lacks) and throws {@link io.infermesh.core.status.CoreException}s for them.
 *
 * <p>Implementations: {@link BuiltInBackend} (the loaded model's batch loop) and {@link
 * UpstreamBackend} (an OpenAI-compatible server behind a priority gate). Thread-safe.
 */
interface InferenceBackend {

  /** The name clients put in {@code GenerateRequest.model} (besides the aliases {@code auto} and {@code core}). */
  String modelName();

  /** What ListModels reports: the served model, or empty while none is loaded. */
  Optional<Listing> listing();

  /**
   * Checks {@code call} against the engine and takes what serving it needs (the loaded model),
   * without queueing it yet.
   *
   * @throws io.infermesh.core.status.CoreException UNAVAILABLE when nothing can serve now (loading,
   *     a pipeline stage or the upstream down), INVALID_ARGUMENT naming the field the engine refuses
   */
  Generation prepare(GenerateCall call);

  /**
   * Embeds {@code request}'s texts, which the service has checked (1 to {@link
   * RequestValidator#MAX_EMBED_INPUTS} non-empty texts).
   *
   * @throws io.infermesh.core.status.CoreException UNAVAILABLE while no model is loaded,
   *     INVALID_ARGUMENT naming the input that does not fit
   * @throws io.grpc.StatusRuntimeException UNIMPLEMENTED where the engine cannot embed
   */
  Embeddings embed(EmbedRequest request);

  /**
   * One call, prepared: {@link #start} queues it, after which the backend streams it into the sink
   * and frees what it holds when it ends. What {@link #prepare} took is held until then, so a
   * prepared call is always started, at once ({@link InferenceService} does nothing in between
   * that can fail).
   */
  interface Generation {
    /** The model that serves it (for ServedBy). */
    ModelRef model();

    /**
     * Queues the call; output follows on {@code sink}. On {@link Admission.Rejected} nothing
     * follows and what the call held is freed. This is the one place a call fans out: a request
     * for several choices would hand each its own sink here.
     */
    Admission start(GenerationSink sink);

    /**
     * The caller went away (or never started it): stop, free what it holds. Idempotent. A started
     * call's sink still hears its end, once ({@code onFinished} with CANCELLED and the tokens used
     * so far, where the engine knows them): the tenant's account is settled from it.
     */
    void cancel();
  }

  /** A served model's name and version ({@code ServedBy.model}, {@code model_version}). */
  record ModelRef(String name, String version) {
    public ModelRef {
      requireNonNull(name, "name");
      requireNonNull(version, "version");
    }
  }

  /** A model as ListModels reports it: {@code contextLength} 0 when unknown. */
  record Listing(ModelRef model, int contextLength, boolean ready) {
    public Listing {
      requireNonNull(model, "model");
    }
  }

  /** Unit vectors in input order and the tokens they took. */
  record Embeddings(ModelRef model, List<float[]> vectors, int promptTokens) {
    public Embeddings {
      requireNonNull(model, "model");
      vectors = List.copyOf(vectors);
    }
  }
}
