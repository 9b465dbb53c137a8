package io.infermesh.core.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.EmbedResponse;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import io.infermesh.api.v1.ListModelsResponse;
import io.infermesh.api.v1.ModelInfo;
import io.infermesh.api.v1.Route;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.api.v1.Tier;
import io.infermesh.api.v1.TokenLogprob;
import io.infermesh.api.v1.Usage;
import io.infermesh.core.constrain.Constraints;
import io.infermesh.core.constrain.RequestGrammar;
import io.infermesh.core.lifecycle.ChatPrompt;
import io.infermesh.core.lifecycle.ModelHost;
import io.infermesh.core.lifecycle.ModelRunner;
import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.core.schedule.Admission;
import io.infermesh.core.schedule.GenerationListener;
import io.infermesh.core.schedule.GenerationRequest;
import io.infermesh.core.schedule.Priority;
import io.infermesh.core.status.CoreException;
import io.infermesh.core.status.StatusMapping;
import io.infermesh.models.grammar.Grammar;
import io.infermesh.models.tokenizer.StreamingDecoder;
import io.infermesh.models.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The core's {@code infermesh.v1.Inference} service over the built-in engine: validates the
 * request (INVALID_ARGUMENT naming the field), tokenizes it, queues it on the model's batch loop
 * (RESOURCE_EXHAUSTED with a {@code retry-after-ms} trailer when the queue is full) and streams
 * text deltas as tokens come. Cancelling the call or passing its deadline frees the request's KV
 * blocks at once. Thread-safe.
 *
 * <p>The caller's {@code request_id} is a label: echoed in every chunk and written to the logs,
 * never a key. Each call is keyed in the scheduler (and in the pipeline's stages) by an id of its
 * own (a random UUID), so two calls with the same {@code request_id} — a client's retry while
 * its first try is still being torn down, or two edges that picked the same id — both run, and
 * cancelling one never touches the other.
 */
public final class InferenceService extends InferenceGrpc.InferenceImplBase {
  /** Trailer with the back-off hint on RESOURCE_EXHAUSTED. */
  public static final Metadata.Key<String> RETRY_AFTER_MS = StatusMapping.RETRY_AFTER_MS;

  private final ModelHost host;
  private final String nodeId;
  private final String region;
  private final CoreMetrics metrics;
  private final EmbedHandler embedder;
  /** Grammar constraints per loaded model's vocabulary (dropped with the model's tokenizer). */
  private final Cache<Tokenizer, Constraints> constraints = Caffeine.newBuilder().weakKeys().build();

  public InferenceService(ModelHost host, String nodeId, String region, CoreMetrics metrics) {
    this.host = host;
    this.nodeId = nodeId;
    this.region = region;
    this.metrics = metrics;
    this.embedder = new EmbedHandler(nodeId, region);
  }

  @Override
  public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> out) {
    ListModelsResponse.Builder b = ListModelsResponse.newBuilder();
    host.current().ifPresent(m -> b.addModels(ModelInfo.newBuilder()
        .setName(m.name()).setVersion(m.version()).setTier(Tier.TIER_CORE)
        .setContextLength(m.contextLength()).setReady(true)));
    out.onNext(b.build());
    out.onCompleted();
  }

  @Override
  public void embed(EmbedRequest request, StreamObserver<EmbedResponse> out) {
    ServedModel model = host.current().orElse(null);
    if (model == null) {
      out.onError(StatusMapping.toException(CoreException.unavailable("the model is still loading")));
      return;
    }
    if (!model.embeds()) {
      out.onError(Status.UNIMPLEMENTED.withDescription("embeddings need the whole model on one node; this node"
          + " serves a pipelined model").asRuntimeException());
      return;
    }
    model.acquire();
    try {
      out.onNext(embedder.embed(request, model));
      out.onCompleted();
    } catch (RuntimeException e) {
      out.onError(StatusMapping.toException(e));
    } finally {
      model.release();
    }
  }

  @Override
  public void generate(GenerateRequest request, StreamObserver<GenerateChunk> responses) {
    ServerCallStreamObserver<GenerateChunk> out = (ServerCallStreamObserver<GenerateChunk>) responses;
    ServedModel model = host.current().orElse(null);
    if (model == null) {
      out.onError(StatusMapping.toException(CoreException.unavailable("the model is still loading")));
      return;
    }
    if (!model.loop().available()) {
      out.onError(StatusMapping.toException(
          CoreException.unavailable("a pipeline stage of the model is unreachable; retry elsewhere")));
      return;
    }
    model.acquire();
    boolean handedOff = false;
    try {
      handedOff = start(request, model, out);
    } catch (RuntimeException e) {
      out.onError(StatusMapping.toException(e));
    } finally {
      if (!handedOff) {
        model.release();
      }
    }
  }

  /** Validates and queues; returns true when the loop took the request (and will release the model). */
  private boolean start(GenerateRequest request, ServedModel model, ServerCallStreamObserver<GenerateChunk> out) {
    RequestValidator.lengths(request);
    String key = UUID.randomUUID().toString(); // this call's own key: the caller's id is only a label
    String label = RequestValidator.requestId(request);
    String requestId = label.isEmpty() ? key : label;
    RequestValidator.model(request.getModel(), model.name());
    Priority priority = RequestValidator.priority(request);
    io.infermesh.core.engine.SamplingParams sampling =
        RequestValidator.sampling(request.getSampling(), model.config().vocabSize());
    if (sampling.logprobs() && !model.reportsLogprobs()) {
      throw CoreException.invalidArgument("sampling.logprobs",
          "is not supported by a pipelined model (its last stage returns token ids only)");
    }
    int[] prompt = switch (request.getInputCase()) {
      case PROMPT -> {
        if (request.getPrompt().isEmpty()) {
          throw CoreException.invalidArgument("prompt", "must not be empty");
        }
        yield model.tokenizer().encode(request.getPrompt(), true, false);
      }
      case CHAT -> model.tokenizer().encode(ChatPrompt.render(model.chatTemplate(), RequestValidator.chat(request)),
          true, true);
      default -> throw CoreException.invalidArgument("input", "set chat or prompt");
    };
    if (prompt.length == 0) {
      throw CoreException.invalidArgument("prompt", "tokenizes to nothing");
    }
    int maxTokens = RequestValidator.maxTokens(request.getSampling(), prompt.length, model.contextLength(),
        model.defaultMaxTokens());
    Deadline deadline = Context.current().getDeadline();
    long deadlineNanos = deadline == null ? Long.MAX_VALUE
        : System.nanoTime() + Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS));
    Set<Integer> stops = model.tokenizer().endOfGenerationTokens();
    sampling = constrain(request, model, sampling, maxTokens);
    GenerationRequest g = new GenerationRequest(key, prompt, maxTokens, priority, sampling, stops, deadlineNanos);
    ServedBy servedBy = ServedBy.newBuilder().setTier(Tier.TIER_CORE).setNodeId(nodeId).setRegion(region)
        .setModel(model.name()).setModelVersion(model.version()).setRoute(Route.ROUTE_CORE)
        .setRouteReason(request.hasEscalation() ? request.getEscalation().getReason() : "direct").build();
    Streamer streamer = new Streamer(key, requestId, model, out, servedBy, request.getSampling().getStopList(),
        priority, sampling.logprobs());
    out.setOnCancelHandler(() -> model.loop().cancel(key));
    Admission a = model.loop().submit(g, streamer);
    if (a instanceof Admission.Rejected r) {
      metrics.rejected(priority);
      out.onError(StatusMapping.toException(CoreException.resourceExhausted(
          r.reason() + "; retry after " + r.retryAfterMillis() + " ms", r.retryAfterMillis())));
      return false;
    }
    return true;
  }

  /** Turns one request's tokens into chunks. Called on the batch loop's thread only. */
  private final class Streamer implements GenerationListener {
    private final String key; // the scheduler's
    private final String requestId; // the caller's label, echoed
    private final ServedModel model;
    private final ServerCallStreamObserver<GenerateChunk> out;
    private final ServedBy servedBy;
    private final StreamingDecoder decoder;
    private final StopMatcher stops;
    private final Priority priority;
    private final long startNanos = System.nanoTime();
    private final List<Integer> pendingIds = new java.util.ArrayList<>(); // tokens whose text is not sent yet
    private final boolean logprobs;
    private final List<TokenLogprob> pendingLogprobs = new ArrayList<>(); // theirs, when asked for
    private long firstTokenNanos;
    private boolean first = true;

    Streamer(String key, String requestId, ServedModel model, ServerCallStreamObserver<GenerateChunk> out,
        ServedBy servedBy, List<String> stopStrings, Priority priority, boolean logprobs) {
      this.key = key;
      this.requestId = requestId;
      this.logprobs = logprobs;
      this.model = model;
      this.out = out;
      this.servedBy = servedBy;
      this.decoder = model.tokenizer().newStreamingDecoder(false);
      this.stops = new StopMatcher(stopStrings);
      this.priority = priority;
    }

    @Override
    public void onToken(int token, int index) {
      if (index == 0) {
        firstTokenNanos = System.nanoTime();
        metrics.firstToken(firstTokenNanos - startNanos);
      }
      metrics.tokenGenerated();
      if (stops.stopped() || model.tokenizer().isEndOfGeneration(token)) {
        return;
      }
      String text = stops.accept(decoder.accept(token));
      if (stops.stopped()) {
        model.loop().cancel(key); // finishes as CANCELLED; reported as STOP below
      }
      pendingIds.add(token);
      if (logprobs) {
        model.lastLogprobs(key).ifPresent(lp -> pendingLogprobs.add(Logprobs.toWire(lp, model.tokenizer())));
      }
      if (!out.isCancelled() && (!text.isEmpty() || first)) {
        GenerateChunk.Builder c = GenerateChunk.newBuilder().setRequestId(requestId).setText(text)
            .addAllTokenIds(pendingIds).addAllLogprobs(pendingLogprobs);
        pendingIds.clear();
        pendingLogprobs.clear();
        if (first) {
          c.setServedBy(servedBy);
          first = false;
        }
        out.onNext(c.build());
      }
    }

    @Override
    public void onFinished(io.infermesh.core.schedule.FinishReason reason, int promptTokens, int completionTokens) {
      model.release();
      long now = System.nanoTime();
      metrics.finished(priority, reason, now - startNanos, completionTokens > 1 && firstTokenNanos > 0
          ? (now - firstTokenNanos) / (completionTokens - 1) : -1);
      if (out.isCancelled()) {
        return;
      }
      FinishReason finish;
      if (reason == io.infermesh.core.schedule.FinishReason.CANCELLED && stops.stopped()) {
        finish = FinishReason.FINISH_REASON_STOP; // we cancelled it on a stop string
      } else {
        Status failure = StatusMapping.forFinish(reason);
        if (failure != null) {
          out.onError(failure.asRuntimeException());
          return;
        }
        finish = reason == io.infermesh.core.schedule.FinishReason.STOP
            ? FinishReason.FINISH_REASON_STOP : FinishReason.FINISH_REASON_LENGTH;
      }
      String tail = stops.accept(decoder.flush()) + stops.flush();
      out.onNext(GenerateChunk.newBuilder().setRequestId(requestId).setText(tail).addAllTokenIds(pendingIds)
          .addAllLogprobs(pendingLogprobs).setFinishReason(finish)
          .setUsage(Usage.newBuilder().setPromptTokens(promptTokens).setCompletionTokens(completionTokens))
          .setServedBy(servedBy).build());
      out.onCompleted();
    }
  }

  /** {@code sampling} restricted to the grammar the request asks for (response_format, tools), if any. */
  private io.infermesh.core.engine.SamplingParams constrain(GenerateRequest request, ServedModel model,
      io.infermesh.core.engine.SamplingParams sampling, int maxTokens) {
    Optional<Grammar> grammar = RequestGrammar.of(request);
    if (grammar.isEmpty()) {
      return sampling;
    }
    if (!(model.runner() instanceof ModelRunner)) {
      throw CoreException.invalidArgument(request.hasResponseFormat() ? "response_format" : "tool_calling",
          "constrained decoding needs the whole model on one node; this one is split into pipeline stages");
    }
    return sampling.withConstraint(constraints.get(model.tokenizer(), Constraints::of).factory(grammar.get(), maxTokens));
  }
}
