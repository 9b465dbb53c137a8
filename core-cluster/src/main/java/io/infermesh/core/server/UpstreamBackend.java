package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Status;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.schedule.Admission;
import io.infermesh.core.schedule.FinishReason;
import io.infermesh.core.schedule.PriorityGate;
import io.infermesh.core.schedule.SchedulerStats;
import io.infermesh.core.status.CoreException;
import io.infermesh.core.upstream.OpenAiUpstream;
import io.infermesh.core.upstream.UpstreamListener;
import io.infermesh.core.upstream.UpstreamRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * An OpenAI-compatible upstream ({@code engine.type: upstream}) as an {@link InferenceBackend}:
 * the same priorities as the built-in engine — a {@link PriorityGate} bounds the calls in flight
 * per class, queues the rest, and refuses when the queue is full — then the upstream's stream as
 * text. Cancelling a call closes its upstream connection.
 *
 * <p>What the upstream would not honour is refused, never dropped: response_format and tools
 * (its structured output is not relied on), penalties, logit_bias (its vocabulary is not the
 * mesh's) and log-probabilities (not read back yet). With the upstream model's context length
 * known ({@code engine.upstream.context_length} > 0), max_tokens is checked against it as the
 * built-in engine does, except that the prompt's length in tokens is not known here (the upstream
 * tokenizes): it counts as at least one token. So max_tokens must leave room for a prompt
 * (INVALID_ARGUMENT naming {@code sampling.max_tokens} otherwise), an unset max_tokens is {@code
 * default_max_tokens} capped to what the context leaves after that one token, and a prompt that is
 * itself too long is refused by the upstream, whose 400 becomes INVALID_ARGUMENT.
 *
 * <p>Thread-safe: the gate is used under this backend's own lock, and only here.
 */
final class UpstreamBackend implements InferenceBackend {
  private final OpenAiUpstream upstream;
  private final BooleanSupplier healthy;
  private final ModelRef model;
  private final int defaultMaxTokens;
  private final int contextLength; // 0 = unknown
  private final Object lock = new Object();
  @GuardedBy("lock")
  private final PriorityGate gate;
  private final Map<String, Forward> calls = new ConcurrentHashMap<>(); // by the calls' own keys

  /**
   * Forwards to {@code upstream} while {@code healthy}, admitting through {@code gate} (used only
   * here from now on), serving {@code model} whose context is {@code contextLength} tokens (0: unknown).
   */
  UpstreamBackend(OpenAiUpstream upstream, PriorityGate gate, BooleanSupplier healthy, CoreConfig.Model model,
      int contextLength) {
    this.upstream = requireNonNull(upstream, "upstream");
    this.gate = requireNonNull(gate, "gate");
    this.healthy = requireNonNull(healthy, "healthy");
    this.model = new ModelRef(model.name(), model.version().isEmpty() ? "upstream:" + upstream.model() : model.version());
    this.defaultMaxTokens = model.defaultMaxTokens();
    this.contextLength = contextLength;
  }

  @Override
  public String modelName() {
    return model.name();
  }

  @Override
  public Optional<Listing> listing() {
    return Optional.of(new Listing(model, contextLength, healthy.getAsBoolean()));
  }

  /** Queue depth per priority and calls in flight, for metrics. */
  SchedulerStats stats() {
    synchronized (lock) {
      return gate.stats();
    }
  }

  @Override
  public Generation prepare(GenerateCall call) {
    if (!healthy.getAsBoolean()) {
      throw CoreException.unavailable("the upstream engine " + upstream.base() + " is unhealthy; retry elsewhere");
    }
    GenerateRequest r = call.request();
    if (call.choices() > 1) {
      // refused, not passed through: the upstream's choices would come back as one interleaved SSE stream to split
      throw CoreException.invalidArgument("n", "must be 1 on a core that forwards to an upstream engine");
    }
    if (r.hasResponseFormat() || r.hasToolCalling()) {
      throw CoreException.invalidArgument(r.hasResponseFormat() ? "response_format" : "tool_calling",
          "constrained decoding is not supported by a core that forwards to an upstream engine");
    }
    SamplingParams s = r.getSampling();
    refuseUnforwarded(s);
    UpstreamRequest.Builder forwarded;
    if (r.hasChat()) {
      List<UpstreamRequest.Message> chat = new ArrayList<>();
      for (ChatMessage m : r.getChat().getMessagesList()) {
        chat.add(new UpstreamRequest.Message(m.getRole(), m.getContent(), m.getName()));
      }
      forwarded = UpstreamRequest.chat(call.requestId(), chat);
    } else {
      forwarded = UpstreamRequest.prompt(call.requestId(), r.getPrompt());
    }
    forwarded.maxTokens(maxTokens(s))
        .temperature(s.hasTemperature() ? s.getTemperature() : null)
        .topP(s.hasTopP() ? s.getTopP() : null)
        .topK(s.hasTopK() && s.getTopK() > 0 ? s.getTopK() : null)
        .seed(s.hasSeed() ? s.getSeed() : null)
        .stop(s.getStopList());
    Forward f = new Forward(call, forwarded.build());
    calls.put(f.id, f); // f.id is this call's own key: never taken by another call
    return f;
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

  @Override
  public Embeddings embed(EmbedRequest request) {
    throw Status.UNIMPLEMENTED.withDescription("embeddings are not forwarded to an upstream engine; ask an edge"
        + " or a core node with engine.type builtin").asRuntimeException();
  }

  /** Starts every call the gate lets through. */
  private void startAdmitted() {
    List<String> started;
    synchronized (lock) {
      started = gate.admit();
    }
    for (String id : started) {
      Forward f = calls.get(id);
      if (f == null) {
        release(id, false); // cancelled in between
        continue;
      }
      f.open();
    }
  }

  /** {@code f} is over (finished, failed or cancelled): frees its slot and lets the next in. */
  private void end(Forward f, boolean served) {
    if (calls.remove(f.id, f)) {
      f.closeUpstream();
      release(f.id, served);
    }
  }

  private void release(String id, boolean served) {
    synchronized (lock) {
      gate.release(id, served);
    }
    startAdmitted();
  }

  /** One call: waiting in the gate, then streaming from the upstream. */
  private final class Forward implements Generation, UpstreamListener {
    final String id; // this call's key in calls and the gate
    private final GenerateCall call;
    private final UpstreamRequest request;
    private volatile GenerationSink sink; // set by start, before the gate can let it through
    private volatile OpenAiUpstream.Call stream;
    private final AtomicBoolean reported = new AtomicBoolean(); // the sink heard the end: once

    Forward(GenerateCall call, UpstreamRequest request) {
      this.id = call.key();
      this.call = call;
      this.request = request;
    }

    @Override
    public ModelRef model() {
      return model;
    }

    @Override
    public Admission start(GenerationSink out) {
      this.sink = requireNonNull(out, "out");
      Admission a;
      synchronized (lock) {
        a = gate.offer(id, call.priority());
      }
      if (a instanceof Admission.Rejected) {
        calls.remove(id, this);
        reported.set(true); // a rejected call has no end to report
        return a;
      }
      startAdmitted();
      return a;
    }

    @Override
    public void cancel() {
      end(this, false);
      GenerationSink out = sink;
      if (out != null && reported.compareAndSet(false, true)) {
        // the upstream's usage never comes: end the call here, so its tenant's reservation is settled
        out.onFinished(0, FinishReason.CANCELLED, "", 0, 0, true);
      }
    }

    /** Opens the upstream stream, once the gate let the call through. */
    void open() {
      stream = upstream.stream(request, this);
      if (!calls.containsKey(id)) {
        stream.cancel(); // cancelled while starting
      }
    }

    void closeUpstream() {
      OpenAiUpstream.Call s = stream;
      if (s != null) {
        s.cancel();
      }
    }

    @Override
    public void onText(String delta) {
      sink.onOutput(0, delta, List.of(), List.of());
    }

    @Override
    public void onFinished(String finishReason, int promptTokens, int completionTokens) {
      if (!reported.compareAndSet(false, true)) {
        return;
      }
      sink.onFinished(0, "length".equals(finishReason) ? FinishReason.LENGTH : FinishReason.STOP, "", promptTokens,
          completionTokens, true);
      end(this, true);
    }

    @Override
    public void onFailed(CoreException error) {
      if (!reported.compareAndSet(false, true)) {
        return;
      }
      sink.onFailed(error);
      end(this, false);
    }
  }
}
