package io.infermesh.core.server;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import io.infermesh.api.v1.ListModelsResponse;
import io.infermesh.api.v1.ModelInfo;
import io.infermesh.api.v1.Route;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.api.v1.Tier;
import io.infermesh.api.v1.Usage;
import io.infermesh.core.schedule.Admission;
import io.infermesh.core.schedule.Priority;
import io.infermesh.core.schedule.PriorityGate;
import io.infermesh.core.status.CoreException;
import io.infermesh.core.status.StatusMapping;
import io.infermesh.core.upstream.OpenAiUpstream;
import io.infermesh.core.upstream.UpstreamListener;
import io.infermesh.core.upstream.UpstreamRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * {@code infermesh.v1.Inference} in front of an OpenAI-compatible upstream ({@code engine:
 * upstream}): the same validation as the built-in engine (INVALID_ARGUMENT naming the field), the
 * same priorities — a {@link PriorityGate} bounds the calls in flight per class, queues the rest,
 * and rejects with RESOURCE_EXHAUSTED and a {@code retry-after-ms} trailer when the queue is full —
 * then the upstream's stream as text chunks. Cancelling the call or passing its deadline closes the
 * upstream connection. Thread-safe: the gate is used under its own lock.
 *
 * <p>With the upstream model's context length known ({@code engine.upstream.context_length} > 0),
 * ListModels reports it, and max_tokens is checked against it as the built-in engine does, with the
 * one difference that the prompt's length in tokens is not known here (the upstream tokenizes):
 * it counts as at least one token. So max_tokens must leave room for a prompt (INVALID_ARGUMENT
 * naming {@code sampling.max_tokens} otherwise), an unset max_tokens is {@code default_max_tokens}
 * capped to what the context leaves after that one token, and a prompt that is itself too long is
 * refused by the upstream, whose 400 becomes INVALID_ARGUMENT.
 *
 * <p>The caller's {@code request_id} is a label (echoed, sent upstream as {@code X-Request-Id});
 * calls are keyed by an id of their own (a random UUID), so equal ids never collide.
 */
final class UpstreamInferenceService extends InferenceGrpc.InferenceImplBase {
  private final OpenAiUpstream upstream;
  private final PriorityGate gate; // used under synchronized (gate)
  private final BooleanSupplier healthy;
  private final String modelName;
  private final String modelVersion;
  private final int defaultMaxTokens;
  private final int contextLength; // 0 = unknown
  private final String nodeId;
  private final String region;
  private final CoreMetrics metrics;
  private final LongSupplier nanoTime;
  private final Map<String, Forward> calls = new ConcurrentHashMap<>();

  UpstreamInferenceService(OpenAiUpstream upstream, PriorityGate gate, BooleanSupplier healthy, String modelName,
      String modelVersion, int defaultMaxTokens, int contextLength, String nodeId, String region, CoreMetrics metrics,
      LongSupplier nanoTime) {
    this.upstream = upstream;
    this.gate = gate;
    this.healthy = healthy;
    this.modelName = modelName;
    this.modelVersion = modelVersion.isEmpty() ? "upstream:" + upstream.model() : modelVersion;
    this.defaultMaxTokens = defaultMaxTokens;
    this.contextLength = contextLength;
    this.nodeId = nodeId;
    this.region = region;
    this.metrics = metrics;
    this.nanoTime = nanoTime;
  }

  @Override
  public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> out) {
    out.onNext(ListModelsResponse.newBuilder().addModels(ModelInfo.newBuilder().setName(modelName)
        .setVersion(modelVersion).setTier(Tier.TIER_CORE).setContextLength(contextLength)
        .setReady(healthy.getAsBoolean())).build());
    out.onCompleted();
  }

  @Override
  public void generate(GenerateRequest request, StreamObserver<GenerateChunk> responses) {
    ServerCallStreamObserver<GenerateChunk> out = (ServerCallStreamObserver<GenerateChunk>) responses;
    try {
      if (!healthy.getAsBoolean()) {
        throw CoreException.unavailable("the upstream engine " + upstream.base() + " is unhealthy; retry elsewhere");
      }
      Forward f = validate(request, out);
      calls.put(f.id, f); // f.id is this call's own key: never taken by another call
      out.setOnCancelHandler(() -> end(f, false));
      Admission a;
      synchronized (gate) {
        a = gate.offer(f.id, f.priority);
      }
      if (a instanceof Admission.Rejected r) {
        calls.remove(f.id, f);
        metrics.rejected(f.priority);
        throw CoreException.resourceExhausted(r.reason() + "; retry after " + r.retryAfterMillis() + " ms",
            r.retryAfterMillis());
      }
      startAdmitted();
    } catch (RuntimeException e) {
      out.onError(StatusMapping.toException(e));
    }
  }

  private Forward validate(GenerateRequest request, ServerCallStreamObserver<GenerateChunk> out) {
    RequestValidator.lengths(request);
    String id = RequestValidator.requestId(request);
    RequestValidator.model(request.getModel(), modelName);
    Priority priority = RequestValidator.priority(request);
    if (RequestValidator.choices(request) > 1) {
      // refused, not passed through: the upstream's choices would come back as one interleaved SSE stream to split
      throw CoreException.invalidArgument("n", "must be 1 on a core that forwards to an upstream engine");
    }
    if (request.hasResponseFormat() || request.hasToolCalling()) {
      // never silently dropped: the upstream's own structured-output support is not relied on
      throw CoreException.invalidArgument(request.hasResponseFormat() ? "response_format" : "tool_calling",
          "constrained decoding is not supported by a core that forwards to an upstream engine");
    }
    SamplingParams s = request.getSampling();
    RequestValidator.sampling(s); // range checks; unset fields stay unset upstream
    refuseUnforwarded(s);
    int maxTokens = maxTokens(s);
    List<UpstreamRequest.Message> chat = null;
    String prompt = null;
    switch (request.getInputCase()) {
      case PROMPT -> {
        if (request.getPrompt().isEmpty()) {
          throw CoreException.invalidArgument("prompt", "must not be empty");
        }
        prompt = request.getPrompt();
      }
      case CHAT -> {
        chat = new ArrayList<>();
        for (ChatMessage m : RequestValidator.chat(request)) {
          chat.add(new UpstreamRequest.Message(m.getRole(), m.getContent(), m.getName()));
        }
      }
      default -> throw CoreException.invalidArgument("input", "set chat or prompt");
    }
    String key = UUID.randomUUID().toString();
    String requestId = id.isEmpty() ? key : id;
    UpstreamRequest r = new UpstreamRequest(requestId, chat, prompt,
        maxTokens,
        s.hasTemperature() ? s.getTemperature() : null,
        s.hasTopP() ? s.getTopP() : null,
        s.hasTopK() && s.getTopK() > 0 ? s.getTopK() : null,
        s.hasSeed() ? s.getSeed() : null,
        s.getStopList());
    ServedBy servedBy = ServedBy.newBuilder().setTier(Tier.TIER_CORE).setNodeId(nodeId).setRegion(region)
        .setModel(modelName).setModelVersion(modelVersion).setRoute(Route.ROUTE_CORE)
        .setRouteReason(request.hasEscalation() ? request.getEscalation().getReason() : "direct").build();
    return new Forward(key, requestId, priority, r, out, servedBy);
  }

  /**
   * Fields this bridge does not forward are refused rather than dropped: the upstream's vocabulary
   * is not the mesh's (logit_bias ids), and its streaming log-probabilities and penalties are not
   * read back or relayed yet.
   */
  private static void refuseUnforwarded(SamplingParams s) {
    if (s.hasPresencePenalty() && s.getPresencePenalty() != 0f) {
      throw CoreException.invalidArgument("sampling.presence_penalty", "is not supported by an upstream backend");
    }
    if (s.hasFrequencyPenalty() && s.getFrequencyPenalty() != 0f) {
      throw CoreException.invalidArgument("sampling.frequency_penalty", "is not supported by an upstream backend");
    }
    if (s.getLogitBiasCount() > 0) {
      throw CoreException.invalidArgument("sampling.logit_bias", "is not supported by an upstream backend");
    }
    if (s.getLogprobs()) {
      throw CoreException.invalidArgument("sampling.logprobs", "is not supported by an upstream backend");
    }
  }

  /** max_tokens as sent upstream; see the class comment for the check against the context. */
  private int maxTokens(SamplingParams s) {
    if (s.hasMaxTokens() && s.getMaxTokens() <= 0) {
      throw CoreException.invalidArgument("sampling.max_tokens", "must be at least 1, got " + s.getMaxTokens());
    }
    if (contextLength == 0) {
      return s.hasMaxTokens() ? s.getMaxTokens() : defaultMaxTokens;
    }
    int room = contextLength - 1; // the prompt takes at least one token
    if (!s.hasMaxTokens()) {
      return Math.max(1, Math.min(defaultMaxTokens, room));
    }
    if (s.getMaxTokens() > room) {
      throw CoreException.invalidArgument("sampling.max_tokens", s.getMaxTokens()
          + " leaves no room for the prompt in the model's context of " + contextLength + " (prompt + max_tokens)");
    }
    return s.getMaxTokens();
  }

  /** Starts every call the gate lets through. */
  private void startAdmitted() {
    List<String> started;
    synchronized (gate) {
      started = gate.admit();
    }
    for (String id : started) {
      Forward f = calls.get(id);
      if (f == null) {
        release(id, false); // cancelled in between
        continue;
      }
      f.start();
    }
  }

  /** {@code f} is over (finished, failed or cancelled): frees its slot and lets the next in. */
  private void end(Forward f, boolean served) {
    if (calls.remove(f.id, f)) {
      f.cancelUpstream();
      release(f.id, served);
    }
  }

  private void release(String id, boolean served) {
    synchronized (gate) {
      gate.release(id, served);
    }
    startAdmitted();
  }

  /** One request: waiting in the gate, then streaming from the upstream. */
  private final class Forward implements UpstreamListener {
    final String id; // this call's key in calls and the gate
    private final String requestId; // the caller's label, echoed
    final Priority priority;
    private final UpstreamRequest request;
    private final ServerCallStreamObserver<GenerateChunk> out;
    private final ServedBy servedBy;
    private final long startNanos = nanoTime.getAsLong();
    private long firstTokenNanos = -1;
    private boolean first = true; // @GuardedBy("this")
    private volatile OpenAiUpstream.Call call;

    Forward(String id, String requestId, Priority priority, UpstreamRequest request,
        ServerCallStreamObserver<GenerateChunk> out, ServedBy servedBy) {
      this.id = id;
      this.requestId = requestId;
      this.priority = priority;
      this.request = request;
      this.out = out;
      this.servedBy = servedBy;
    }

    void start() {
      call = upstream.stream(request, this);
      if (!calls.containsKey(id)) {
        call.cancel(); // cancelled while starting
      }
    }

    void cancelUpstream() {
      OpenAiUpstream.Call c = call;
      if (c != null) {
        c.cancel();
      }
    }

    @Override
    public synchronized void onText(String delta) {
      if (out.isCancelled()) {
        return;
      }
      if (firstTokenNanos < 0) {
        firstTokenNanos = nanoTime.getAsLong();
        metrics.firstToken(firstTokenNanos - startNanos);
      }
      GenerateChunk.Builder c = GenerateChunk.newBuilder().setRequestId(requestId).setText(delta);
      if (first) {
        c.setServedBy(servedBy);
        first = false;
      }
      out.onNext(c.build());
    }

    @Override
    public synchronized void onFinished(String finishReason, int promptTokens, int completionTokens) {
      long now = nanoTime.getAsLong();
      metrics.tokensGenerated(completionTokens);
      metrics.finished(priority, "length".equals(finishReason) ? io.infermesh.core.schedule.FinishReason.LENGTH
          : io.infermesh.core.schedule.FinishReason.STOP, now - startNanos,
          completionTokens > 1 && firstTokenNanos > 0 ? (now - firstTokenNanos) / (completionTokens - 1) : -1);
      if (!out.isCancelled()) {
        out.onNext(GenerateChunk.newBuilder().setRequestId(requestId)
            .setFinishReason("length".equals(finishReason) ? FinishReason.FINISH_REASON_LENGTH
                : FinishReason.FINISH_REASON_STOP)
            .setUsage(Usage.newBuilder().setPromptTokens(Math.max(0, promptTokens))
                .setCompletionTokens(Math.max(0, completionTokens)))
            .setServedBy(servedBy).build());
        out.onCompleted();
      }
      end(this, true);
    }

    @Override
    public synchronized void onFailed(CoreException error) {
      metrics.finished(priority, io.infermesh.core.schedule.FinishReason.FAILED, nanoTime.getAsLong() - startNanos, -1);
      if (!out.isCancelled()) {
        out.onError(StatusMapping.toException(error));
      }
      end(this, false);
    }
  }
}
