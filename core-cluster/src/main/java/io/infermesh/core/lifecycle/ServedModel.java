package io.infermesh.core.lifecycle;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.core.engine.DjlRuntime;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.WeightPrecision;
import io.infermesh.core.schedule.BatchLoop;
import io.infermesh.core.schedule.Scheduler;
import io.infermesh.core.schedule.SchedulerConfig;
import io.infermesh.core.schedule.StepRunner;
import io.infermesh.models.chat.ChatTemplate;
import io.infermesh.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model loaded and answering: engine, tokenizer, scheduler and the batch loop that drives them,
 * with a name and version. Requests {@link #tryAcquire()} it while they run so a hot swap can
 * drain it: once {@link #retire retired} it takes no new request and unloads itself when the last
 * one {@linkplain #release() ends} or when its drain timeout passes (requests still running then
 * fail UNAVAILABLE, naming the timeout). Thread-safe: the request count and the retirement state
 * are guarded by {@code lifecycle}; unloading runs on the retirement's executor, never on a
 * releasing thread (that may be the batch loop's own thread, which closing joins).
 */
public final class ServedModel implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServedModel.class);
  private final String name;
  private final String version;
  private final String sha256;
  private final LlamaConfig config;
  private final Tokenizer tokenizer;
  private final ChatTemplate chatTemplate;
  private final LlamaModel model;
  private final StepRunner runner;
  private final BatchLoop loop;
  private final SchedulerConfig schedulerConfig;
  private final int defaultMaxTokens;
  private final Object lifecycle = new Object();
  @GuardedBy("lifecycle")
  private int inFlight;
  @GuardedBy("lifecycle")
  private Retirement retirement; // null while serving
  @GuardedBy("lifecycle")
  private boolean closed;
  private final AtomicBoolean unloaded = new AtomicBoolean();
  private volatile String unloadReason; // set when the drain timeout unloads it under running requests
  private final Object embedLock = new Object(); // one embedding at a time: they share the CPU with the loop

  private ServedModel(String name, String version, String sha256, LlamaConfig config, Tokenizer tokenizer, ChatTemplate chatTemplate,
      LlamaModel model, StepRunner runner, BatchLoop loop, SchedulerConfig schedulerConfig, int defaultMaxTokens) {
    this.name = name;
    this.version = version;
    this.sha256 = sha256;
    this.config = config;
    this.tokenizer = tokenizer;
    this.chatTemplate = chatTemplate;
    this.model = model;
    this.runner = runner;
    this.loop = loop;
    this.schedulerConfig = schedulerConfig;
    this.defaultMaxTokens = defaultMaxTokens;
  }

  /**
   * Verifies, loads and starts serving a GGUF file or Hugging Face directory, all of it on this
   * node ({@link Placement#WHOLE}) or the first pipeline stage ({@code placement}).
   *
   * @param precision the number format of the linear weights ({@code engine.dtype})
   * @param scheduling limits; its context length 0 means the model's, its kv blocks 0 means four
   *     full contexts
   * @throws IOException with a one-line reason for a missing, corrupt, truncated or unsupported model
   */
  public static ServedModel load(String name, Path path, String sha256, String version, String device,
      WeightPrecision precision, int defaultMaxTokens, SchedulingLimits scheduling, Placement placement, ThreadFactory threads,
      LongSupplier nanoTime, BatchLoop.StepObserver observer) throws IOException {
    LlamaConfig config;
    Tokenizer tokenizer;
    ChatTemplate chatTemplate;
    LlamaModel model;
    SchedulerConfig sc;
    String digest;
    try (Checkpoint cp = Checkpoint.open(path, sha256)) {
      digest = cp.sha256();
      config = cp.config();
      tokenizer = cp.tokenizer();
      chatTemplate = ChatTemplateChoice.of(cp.chatTemplateSource(), tokenizer);
      sc = scheduling.resolve(config.contextLength());
      model = cp.load(placement.layers(config), DjlRuntime.device(device), precision, sc.kvBlocks() * sc.kvBlockSize());
    }
    String ver = version.isEmpty() ? "sha256:" + digest.substring(0, 12) : version;
    StepRunner runner;
    try {
      runner = placement.runner(model, new Placement.Identity(name, digest, sc.kvBlocks() * sc.kvBlockSize()));
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
    boolean prefixCache = scheduling.prefixCache() && placement == Placement.WHOLE;
    if (scheduling.prefixCache() && !prefixCache) {
      log.info("model {}: prefix cache off (scheduler.prefix_cache): this node is stage 0 of a pipeline, and a later"
          + " stage that restarts would lose KV rows the cache still points to", name);
    }
    BatchLoop loop = new BatchLoop(new Scheduler(sc, nanoTime, prefixCache), runner, threads, observer, nanoTime)
        .start();
    log.info("model {} ({}): chat template {} (tools: {})", name, ver, chatTemplate.name(),
        chatTemplate.toolRendering());
    return new ServedModel(name, ver, digest, config, tokenizer, chatTemplate, model, runner, loop, sc, defaultMaxTokens);
  }

  /**
   * Scheduler limits before the model's context is known; {@code prefixCache} applies when the
   * whole model runs here ({@link Placement#WHOLE}).
   */
  public record SchedulingLimits(int maxQueued, int maxBatchSize, int maxBatchTokens, int prefillChunk, int kvBlocks,
      int kvBlockSize, int contextLength, Duration aging, boolean prefixCache) {

    /** The limits for a model with {@code modelContext} positions. */
    public SchedulerConfig resolve(int modelContext) {
      int ctx = contextLength == 0 ? modelContext : Math.min(contextLength, modelContext);
      int blocks = kvBlocks == 0 ? 4 * ((ctx + kvBlockSize - 1) / kvBlockSize) : kvBlocks;
      return new SchedulerConfig(maxQueued, maxBatchSize, maxBatchTokens, prefillChunk, blocks, kvBlockSize, ctx, aging,
          Duration.ofSeconds(1));
    }
  }

  public String name() {
    return name;
  }

  public String version() {
    return version;
  }

  /**
   * Lower-case hex SHA-256 of the model file (or of model.safetensors / its index): what a
   * pipeline's stages are asked to hold ({@code StageHello.model_sha256}).
   */
  public String sha256() {
    return sha256;
  }

  public LlamaConfig config() {
    return config;
  }

  public Tokenizer tokenizer() {
    return tokenizer;
  }

  /** How chats are rendered for this model. */
  public ChatTemplate chatTemplate() {
    return chatTemplate;
  }

  public BatchLoop loop() {
    return loop;
  }

  /** What runs the steps: the local engine, or stage 0 of a pipeline. */
  public StepRunner runner() {
    return runner;
  }

  /**
   * Whether this model can report log-probabilities: when it runs whole on this node (a pipeline's
   * last stage samples on another node and sends back only token ids).
   */
  public boolean reportsLogprobs() {
    return runner instanceof ModelRunner;
  }

  /**
   * The log-probabilities of {@code requestId}'s last token (see {@link ModelRunner#lastLogprobs});
   * call from its listener only, on the batch loop's thread.
   */
  public Optional<io.infermesh.core.engine.TokenLogprobs> lastLogprobs(String requestId) {
    return runner instanceof ModelRunner r ? r.lastLogprobs(requestId) : Optional.empty();
  }

  /**
   * The embedding of {@code tokens} ({@link LlamaModel#embed}); runs on the caller's thread, one at
   * a time, beside the batch loop (it reads the weights and never the KV cache).
   *
   * @throws IllegalStateException when this node holds only a pipeline stage
   */
  public float[] embed(int[] tokens) {
    synchronized (embedLock) {
      return model.embed(tokens);
    }
  }

  /** Whether {@link #embed} works here: the whole model is on this node. */
  public boolean embeds() {
    return runner instanceof ModelRunner;
  }

  public String device() {
    return model.device().toString();
  }

  /** Context window in tokens (prompt + completion) as served. */
  public int contextLength() {
    return schedulerConfig.contextLength();
  }

  public int defaultMaxTokens() {
    return defaultMaxTokens;
  }

  /**
   * Marks one request as using this model, unless it is retired or closed; pair a true answer with
   * {@link #release()}.
   */
  public boolean tryAcquire() {
    synchronized (lifecycle) {
      if (closed || retirement != null) {
        return false;
      }
      inFlight++;
      return true;
    }
  }

  /** Ends one request's use; the last one of a retired model unloads it (on the retirement's executor). */
  public void release() {
    Retirement unload = null;
    synchronized (lifecycle) {
      inFlight--;
      if (inFlight == 0 && retirement != null && !closed) {
        closed = true;
        unload = retirement;
      }
    }
    if (unload != null) {
      unload.unload(this);
    }
  }

  /** Requests currently using this model. */
  public int inFlight() {
    synchronized (lifecycle) {
      return inFlight;
    }
  }

  /**
   * Stops taking requests and unloads once the last running one ends, or after {@code drain}, when
   * the rest fail UNAVAILABLE ("model version ... was unloaded after its drain timeout"). Once
   * unloaded, {@code unloaded} runs on {@code executor}.
   */
  public void retire(Duration drain, ScheduledExecutorService executor, Consumer<ServedModel> unloaded) {
    Retirement r = new Retirement(executor, unloaded);
    boolean now;
    synchronized (lifecycle) {
      if (closed || retirement != null) {
        return;
      }
      retirement = r;
      now = inFlight == 0;
      if (now) {
        closed = true;
      } else {
        r.timeout = executor.schedule(() -> drainTimedOut(r, drain), drain.toNanos(), TimeUnit.NANOSECONDS);
      }
    }
    if (now) {
      r.unload(this);
    }
  }

  private void drainTimedOut(Retirement r, Duration drain) {
    int running;
    synchronized (lifecycle) {
      if (closed || retirement != r) {
        return;
      }
      closed = true;
      running = inFlight;
    }
    unloadReason = "model " + name + " version " + version + " was unloaded after its drain timeout ("
        + drain.toMillis() + " ms) during a swap; retry";
    log.warn("model {} version {}: drain timeout {} passed with {} requests running; they fail UNAVAILABLE", name,
        version, drain, running);
    r.unload(this);
  }

  /**
   * Undoes {@link #retire} while the model is still loaded (a rollback within the drain): it takes
   * requests again. False when it is already unloaded or unloading.
   */
  public boolean reactivate() {
    synchronized (lifecycle) {
      if (closed) {
        return false;
      }
      if (retirement != null && retirement.timeout != null) {
        retirement.timeout.cancel(false);
      }
      retirement = null;
      return true;
    }
  }

  /** Whether this model takes new requests (loaded and not retired). */
  public boolean serving() {
    synchronized (lifecycle) {
      return !closed && retirement == null;
    }
  }

  /**
   * Why requests still running failed: set once the drain timeout unloaded this model under them,
   * empty otherwise.
   */
  public Optional<String> unloadReason() {
    return Optional.ofNullable(unloadReason);
  }

  /** A retirement in progress: where to unload and whom to tell. */
  private static final class Retirement {
    private final ScheduledExecutorService executor;
    private final Consumer<ServedModel> unloaded;
    private ScheduledFuture<?> timeout; // guarded by the model's lifecycle lock

    Retirement(ScheduledExecutorService executor, Consumer<ServedModel> unloaded) {
      this.executor = executor;
      this.unloaded = unloaded;
    }

    void unload(ServedModel m) {
      try {
        executor.execute(() -> {
          log.info("unloading model {} version {}", m.name, m.version);
          m.unloadNow();
          unloaded.accept(m);
        });
      } catch (RejectedExecutionException e) {
        m.unloadNow(); // the node is shutting down
      }
    }
  }

  /** Stops the loop (requests still in flight fail) and frees the engine. */
  @Override
  public void close() {
    synchronized (lifecycle) {
      closed = true;
    }
    unloadNow();
  }

  private void unloadNow() {
    if (!unloaded.compareAndSet(false, true)) {
      return;
    }
    loop.close();
    if (runner instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        log.warn("closing the step runner of model {} failed", name, e);
      }
    }
    model.close();
  }
}
