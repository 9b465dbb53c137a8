package io.infermesh.core.server;

import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.Engine;
import io.infermesh.core.schedule.PriorityGate;
import io.infermesh.core.schedule.SchedulerStats;
import io.infermesh.core.upstream.OpenAiUpstream;
import io.infermesh.core.upstream.UpstreamHealth;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What a core node with {@code engine: upstream} owns: the HTTP client and its threads, the
 * OpenAI-compatible upstream (with its API key from {@code engine.upstream.api_key} or the
 * variable {@code api_key_env} names), its health poll, and the {@link UpstreamBackend} the
 * Inference service forwards to, with its priority gate sized by the scheduler section ({@code
 * max_batch_size} calls in flight, {@code max_queued} waiting). Thread-safe.
 */
final class Upstream implements AutoCloseable {
  private final ExecutorService httpThreads;
  private final OpenAiUpstream upstream;
  private final UpstreamHealth health;
  private final UpstreamBackend backend;

  private Upstream(ExecutorService httpThreads, OpenAiUpstream upstream, UpstreamHealth health,
      UpstreamBackend backend) {
    this.httpThreads = httpThreads;
    this.upstream = upstream;
    this.health = health;
    this.backend = backend;
  }

  /**
   * Connects (lazily) to {@code engine.upstream.url} and starts polling its health; {@code onHealth} hears changes.
   *
   * @throws IllegalArgumentException when {@code config}'s engine is not an upstream
   */
  static Upstream start(CoreConfig config, ScheduledExecutorService timers, Runnable onHealth) {
    if (!(config.engine() instanceof Engine.Upstream e)) {
      throw new IllegalArgumentException("engine.type is " + config.engine().type() + ", not upstream");
    }
    ExecutorService threads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "core-upstream-http");
      t.setDaemon(true);
      return t;
    });
    HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1) // what vLLM, TGI, llama.cpp and LMI all speak
        .connectTimeout(Duration.ofSeconds(5))
        .executor(threads)
        .build();
    String model = e.model().isEmpty() ? config.model().name() : e.model();
    String apiKey;
    try {
      apiKey = e.resolveApiKey(System::getenv);
    } catch (RuntimeException ex) {
      threads.shutdownNow();
      throw ex;
    }
    OpenAiUpstream upstream = new OpenAiUpstream(URI.create(e.url()), model, e.timeout(), http, timers, apiKey);
    UpstreamHealth health = UpstreamHealth.start(upstream, e.healthPath(), e.healthInterval(), timers,
        ok -> onHealth.run());
    CoreConfig.Scheduling s = config.scheduler();
    PriorityGate gate = new PriorityGate(PriorityGate.Config.of(s.maxBatchSize(), s.maxQueued(), s.aging()),
        System::nanoTime);
    return new Upstream(threads, upstream, health,
        new UpstreamBackend(upstream, gate, health::healthy, config.model(), e.contextLength()));
  }

  UpstreamHealth health() {
    return health;
  }

  /** What the Inference service forwards to. */
  UpstreamBackend backend() {
    return backend;
  }

  /** Queue depth per priority and calls in flight, for metrics. */
  SchedulerStats stats() {
    return backend.stats();
  }

  @Override
  public void close() {
    health.close();
    httpThreads.shutdownNow();
  }

  @Override
  public String toString() {
    return "upstream " + upstream.base();
  }
}
