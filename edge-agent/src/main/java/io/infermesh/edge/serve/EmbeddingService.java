package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.LocalEngine;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.LlamaEmbedder;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;

/**
 * {@code POST /v1/embeddings} behind the transport: which tier embeds, the bounds, and the edge's
 * own embedder.
 *
 * <p>The tier follows {@code model}, as for completions, but never by difficulty: vectors of
 * different models cannot be compared, so {@code auto}, {@code edge} and the edge's model name
 * embed on the edge ({@code alias-edge}, {@code embeddings-edge}), {@code core} and the core's
 * model names on the core ({@code alias-core}, {@code model-core-only}); a {@code privacy:
 * local-only} request for the core is refused (400 naming {@code model}) rather than answered with
 * another model's vectors.
 *
 * <p>The edge embeds with llama.cpp's embedding mode over the same GGUF file, in a second context
 * loaded on the first request ({@link #EDGE_CONTEXT} tokens: llama.cpp embeds an input in one
 * batch), one input at a time; at most {@link #MAX_WAITING} requests wait for it, more get 429.
 * Every vector is scaled to unit length on both tiers. Thread-safe.
 */
public final class EmbeddingService {
  /** The most inputs one request may carry. */
  public static final int MAX_INPUTS = 256;
  /** The context of the edge's embedding context (and so the longest input it takes), at most. */
  public static final int EDGE_CONTEXT = 512;
  /** Requests that may wait for the edge's embedder before more are refused with 429. */
  static final int MAX_WAITING = 4;

  private final EdgeConfig config;
  private final Supplier<Engine> engine;
  private final Escalator escalator;
  private final Intake intake;
  private final Accounting accounting;
  private final Semaphore edgeGate = new Semaphore(MAX_WAITING + 1);
  private final Object loadLock = new Object();
  // written under loadLock, volatile for the unlocked read once loaded
  private volatile LlamaEmbedder embedder;

  EmbeddingService(EdgeConfig config, Supplier<Engine> engine, Escalator escalator, Intake intake,
      Accounting accounting) {
    this.config = requireNonNull(config, "config");
    this.engine = requireNonNull(engine, "engine");
    this.escalator = requireNonNull(escalator, "escalator");
    this.intake = requireNonNull(intake, "intake");
    this.accounting = requireNonNull(accounting, "accounting");
  }

  /**
   * Embeds {@code inputs} for {@code tenant}.
   *
   * @param model the requested model or alias ({@code ""} means {@code auto})
   * @param hints routing hints ({@code privacy}, {@code require}) with lower-case keys
   * @throws EdgeException for a bad input (naming {@code input[i]}), an unknown model, a busy
   *     embedder or an unreachable core
   */
  public Embeddings embed(String requestId, List<String> inputs, String model, Map<String, String> hints,
      Tenant tenant) throws InterruptedException {
    requireNonNull(inputs, "inputs");
    if (hints.containsKey(RoutingHints.REANSWER)) {
      throw EdgeException.invalid("x-infermesh-reanswer", "x-infermesh-reanswer: re-answers are kept for completions,"
          + " not embeddings; drop it");
    }
    Engine e = engine.get();
    if (e == null) {
      throw EdgeException.unavailable("the model is still loading; retry shortly");
    }
    if (hints.containsKey(VersionPin.HINT)) { // the embedding models have no versions to pin (yet): refused, not ignored
      throw EdgeException.invalid(VersionPin.HEADER, VersionPin.HEADER + ": embeddings cannot be pinned to a model"
          + " version; drop the pin");
    }
    if (inputs.isEmpty() || inputs.size() > MAX_INPUTS) {
      throw EdgeException.invalid("input", "input: must hold 1 to " + MAX_INPUTS + " texts, got " + inputs.size());
    }
    for (int i = 0; i < inputs.size(); i++) {
      if (inputs.get(i).isEmpty()) {
        throw EdgeException.invalid("input", "input[" + i + "]: must not be empty");
      }
    }
    long arrived = accounting.now();
    RouteDecision route = null;
    try {
      route = route(model, e.info(), hints);
      intake.admitRequest(tenant);
      Embeddings out = route.route() == Route.CORE ? onCore(requestId, inputs, model, route, tenant)
          : onEdge(e, inputs, route);
      accounting.charge(tenant, out.promptTokens());
      accounting.embedded(out.model(), route, "none", out.promptTokens(), arrived);
      return out;
    } catch (EdgeException ex) {
      accounting.embedded(e.info().name(), route, ex.kind().metricName(), 0, arrived);
      throw ex;
    }
  }

  private RouteDecision route(String model, ModelInfo edge, Map<String, String> hints) {
    boolean core;
    String reason;
    switch (model) {
      case "", "auto" -> {
        core = false;
        reason = "embeddings-edge";
      }
      case "edge" -> {
        core = false;
        reason = "alias-edge";
      }
      case "core" -> {
        core = true;
        reason = "alias-core";
      }
      default -> {
        if (model.equals(edge.name())) {
          core = false;
          reason = "embeddings-edge";
        } else if (config.escalation().enabled() && (config.routing().coreModels().contains(model)
            || escalator.coreModelNames().contains(model)
            || escalator.coreModels().stream().anyMatch(m -> m.name().equals(model)))) {
          core = true;
          reason = "model-core-only";
        } else {
          throw EdgeException.modelNotFound("model: the model '" + model + "' does not exist or is not served here");
        }
      }
    }
    if (!core && "core".equals(hints.get("require"))) {
      if (!model.isEmpty() && !model.equals("auto")) {
        throw EdgeException.invalid("x-infermesh-require", "x-infermesh-require: core contradicts model '" + model
            + "', which embeds on the edge; ask for model 'core' or 'auto'");
      }
      core = true;
      reason = "require-core";
    }
    if (!core) {
      return new RouteDecision(Route.EDGE, reason);
    }
    if (!config.escalation().enabled()) {
      throw EdgeException.modelNotFound("model: 'core' is not served here: this agent has no core");
    }
    if ("local-only".equals(hints.get("privacy"))) {
      throw EdgeException.invalid("model", "model: '" + model + "' embeds on the core, but this request must stay on"
          + " the edge (privacy-local-only); ask for the edge's model");
    }
    return new RouteDecision(Route.CORE, reason);
  }

  private Embeddings onCore(String requestId, List<String> inputs, String model, RouteDecision route, Tenant tenant) {
    Escalator.EmbedResult r = escalator.embed(new Escalator.EmbedCall(requestId, tenant, model, inputs,
        config.escalation().timeout()));
    List<float[]> vectors = new ArrayList<>(r.vectors().size());
    r.vectors().forEach(v -> vectors.add(unit(v)));
    return new Embeddings(vectors, r.promptTokens(), r.model(), route);
  }

  private Embeddings onEdge(Engine e, List<String> inputs, RouteDecision route) throws InterruptedException {
    int limit = Math.min(EDGE_CONTEXT, e.info().contextSize());
    int tokens = 0;
    for (int i = 0; i < inputs.size(); i++) {
      int n = e.rawPrompt(inputs.get(i)).tokens();
      if (n > limit) {
        throw EdgeException.invalid("input", "context_length_exceeded", "input[" + i + "]: is " + n
            + " tokens; the edge embeds at most " + limit + " tokens per input");
      }
      tokens += n;
    }
    if (!edgeGate.tryAcquire()) {
      throw EdgeException.queueFull("The embedder is busy: " + MAX_WAITING + " requests are waiting. Retry after 1 s.",
          Duration.ofSeconds(1));
    }
    try {
      LlamaEmbedder embedder = embedder(limit);
      List<float[]> vectors = new ArrayList<>(inputs.size());
      for (String input : inputs) {
        if (Thread.interrupted()) {
          throw new InterruptedException();
        }
        vectors.add(unit(embedder.embedWhole(input)));
      }
      return new Embeddings(vectors, tokens, e.info().name(), route);
    } finally {
      edgeGate.release();
    }
  }

  private LlamaEmbedder embedder(int context) {
    LlamaEmbedder loaded = embedder;
    if (loaded != null) {
      return loaded;
    }
    synchronized (loadLock) {
      if (embedder == null) {
        Path path = config.model().path();
        if (config.engine() instanceof LocalEngine.Upstream) {
          throw EdgeException.invalid("model", "model: embeddings on the edge tier need the in-process model; this"
              + " edge's local tier is an upstream server (engine.type: upstream). Send model: core");
        }
        if (path == null) {
          throw EdgeException.unavailable("embeddings need model.path: this agent's engine has no model file");
        }
        try {
          embedder = LlamaEmbedder.load(path, context,
              config.model().effectiveThreads(Runtime.getRuntime().availableProcessors()));
        } catch (IOException | RuntimeException ex) {
          throw EdgeException.internal("the edge's embedder could not be loaded", ex);
        }
      }
      return embedder;
    }
  }

  /** {@code v / |v|}; a zero vector stays zero. */
  static float[] unit(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    if (sum == 0) {
      return v.clone();
    }
    float scale = (float) (1 / Math.sqrt(sum));
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i] * scale;
    }
    return out;
  }

  /** Frees the edge's embedder, if it was loaded; a later request loads it again. Idempotent. */
  public void close() {
    synchronized (loadLock) {
      if (embedder != null) {
        embedder.close();
        embedder = null;
      }
    }
  }
}
