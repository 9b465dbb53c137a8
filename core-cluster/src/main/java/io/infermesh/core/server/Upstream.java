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
 * variable {@code api_key_env} names), its health poll, and the priority gate sized by the scheduler
 * section ({@code max_batch_size} calls in flight, {@code max_queued} waiting). Thread-safe.
 */
final class Upstream implements AutoCloseable {
  private final CoreConfig config;
  private final int contextLength; // engine.upstream.context_length
  private final ExecutorService httpThreads;
  private final OpenAiUpstream upstream;
  private final UpstreamHealth health;
  private final PriorityGate gate;

  private Upstream(CoreConfig config, int contextLength, ExecutorService httpThreads, OpenAiUpstream upstream,
      UpstreamHealth health) {
    this.config = config;
    this.contextLength = contextLength;
    this.httpThreads = httpThreads;
    this.upstream = upstream;
    this.health = health;
    CoreConfig.Scheduling s = config.scheduler();
    this.gate = new PriorityGate(PriorityGate.Config.of(s.maxBatchSize(), s.maxQueued(), s.aging()), System::nanoTime);
  }

  /** Connects (lazily) to {@code engine.upstream.url} and starts polling its health; {@code onHealth} hears changes. */
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
    return new Upstream(config, e.contextLength(), threads, upstream, health);
  }

  UpstreamHealth health() {
    return health;
  }

  /** The Inference service in front of the upstream. */
  UpstreamInferenceService service(String nodeId, CoreMetrics metrics) {
    return new UpstreamInferenceService(upstream, gate, health::healthy, config.model().name(), config.model().version(),
        config.model().defaultMaxTokens(), contextLength, nodeId, config.node().region(),
        metrics, System::nanoTime);
  }

  /** Queue depth per priority and calls in flight, for metrics. */
  SchedulerStats stats() {
    synchronized (gate) {
      return gate.stats();
    }
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
