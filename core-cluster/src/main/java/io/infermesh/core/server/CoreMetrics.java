package io.infermesh.core.server;

import io.infermesh.core.lifecycle.ModelHost;
import io.infermesh.core.schedule.FinishReason;
import io.infermesh.core.schedule.Priority;
import io.infermesh.core.schedule.SchedulerStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The core's metrics: OpenTelemetry GenAI names where they exist
 * ({@code gen_ai.server.request.duration}, {@code gen_ai.server.time_to_first_token},
 * {@code gen_ai.server.time_per_output_token}, histograms), {@code infermesh.core.*} for the scheduler (queue
 * depth per priority, running batch, KV blocks used/free/cached, prefix-cache queried and hit
 * tokens, preemptions, generated tokens — whose
 * rate is tokens/s), tenant refusals by reason and audit write failures. Thread-safe.
 *
 * <p>Time to first token and request duration carry the served model's version ({@code
 * model_version}; a swap changes it while the process runs), and time to first token is also a
 * histogram ({@code _bucket}): the control plane reads both per version to judge a canary
 * (error rate = {@code finish="failed"} / all, TTFT p99 from the buckets).
 */
public final class CoreMetrics {
  /** The tag naming the model version that served a call ({@code model_version} in Prometheus). */
  public static final String MODEL_VERSION = "model_version";

  private final MeterRegistry registry;
  private final Counter tokens;
  private final Map<String, Timer> ttft = new ConcurrentHashMap<>(); // by model version
  private final Timer tpot;
  private final Supplier<SchedulerStats> stats; // held here: meters only keep a weak reference to it

  /** {@code stats} is read on every scrape (the served model's scheduler, or the upstream gate). */
  public CoreMetrics(MeterRegistry registry, Supplier<SchedulerStats> stats) {
    this.registry = registry;
    this.stats = stats;
    this.tokens = Counter.builder("infermesh.core.tokens.generated").description("Tokens generated").register(registry);
    this.tpot = Timer.builder("gen_ai.server.time_per_output_token").description("Time per output token after the first")
        .publishPercentileHistogram().register(registry);
    for (Priority p : Priority.values()) {
      gauge(stats, "infermesh.core.queue.depth", s -> s.queued().get(p), "priority", p.name().toLowerCase());
      queueFull(p); // at 0 from the start: the queue-saturation alert sees it rise, not appear
    }
    gauge(stats, "infermesh.core.batch.running", SchedulerStats::running);
    gauge(stats, "infermesh.core.kv.blocks.used", SchedulerStats::kvBlocksUsed);
    gauge(stats, "infermesh.core.kv.blocks.free", SchedulerStats::kvBlocksFree);
    FunctionCounter.builder("infermesh.core.preemptions", stats, s -> s.get().preemptions())
        .description("Sequences preempted for KV blocks (recomputed later)").register(registry);
    gauge(stats, "infermesh.core.kv.blocks.cached", SchedulerStats::kvBlocksCached);
    FunctionCounter.builder("infermesh.core.kv.prefix.queries", stats, s -> s.get().prefixQueriedTokens())
        .baseUnit("tokens").description("Tokens of sequences looked up in the KV prefix cache").register(registry);
    FunctionCounter.builder("infermesh.core.kv.prefix.hits", stats, s -> s.get().prefixHitTokens())
        .baseUnit("tokens").description("Tokens found in the KV prefix cache (not computed)").register(registry);
  }

  /** The stats of {@code host}'s current model (all zero while none is loaded). */
  static Supplier<SchedulerStats> of(ModelHost host) {
    return () -> host.current().map(m -> m.loop().stats()).orElse(SchedulerStats.EMPTY);
  }

  private void gauge(Supplier<SchedulerStats> stats, String name, ToDoubleFunction<SchedulerStats> f, String... tags) {
    Gauge.builder(name, stats, s -> f.applyAsDouble(s.get())).tags(tags).register(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  void tokenGenerated() {
    tokens.increment();
  }

  void tokensGenerated(int n) {
    if (n > 0) {
      tokens.increment(n);
    }
  }

  void firstToken(String modelVersion, long nanos) {
    ttft.computeIfAbsent(modelVersion, v -> Timer.builder("gen_ai.server.time_to_first_token")
        .description("Time to first token").tag(MODEL_VERSION, v)
        .publishPercentiles(0.5, 0.95).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  void rejected(Priority p) {
    queueFull(p).increment();
  }

  private Counter queueFull(Priority p) {
    return registry.counter("infermesh.core.rejected", "priority", p.name().toLowerCase(), "reason", "queue-full");
  }

  void finished(String modelVersion, Priority p, FinishReason reason, long nanos, long perTokenNanos) {
    Timer.builder("gen_ai.server.request.duration").tags("priority", p.name().toLowerCase(),
        "finish", reason.name().toLowerCase(), MODEL_VERSION, modelVersion).register(registry)
        .record(Duration.ofNanos(nanos));
    if (perTokenNanos >= 0) {
      tpot.record(perTokenNanos, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * A call refused at the front door for its tenant: {@code reason} {@code not_vouched} (a tenant
   * named by a caller that may not vouch) or the limit's name ({@code tokens_per_day}, …).
   */
  void tenantRefused(String reason) {
    registry.counter("infermesh.core.tenant.refused", "reason", reason).increment();
  }

  /** A lease granted to an edge device ({@code infermesh.core.lease.grants}). */
  void leaseGranted() {
    registry.counter("infermesh.core.lease.grants").increment();
  }

  /** A lease spend report counted, or answered as a replay ({@code infermesh.core.lease.reports}). */
  void leaseReported(boolean replay) {
    registry.counter("infermesh.core.lease.reports", "replay", String.valueOf(replay)).increment();
  }

  /** An audit record that could not be written (the call itself was answered). */
  void auditFailed() {
    registry.counter("infermesh.core.audit.failures").increment();
  }

  /**
   * A verified draft: {@code infermesh.core.draft.tokens{result=drafted}} counts the tokens scored,
   * {@code result=accepted} those kept; their ratio is the acceptance rate.
   */
  void draftVerified(int drafted, int accepted) {
    registry.counter("infermesh.core.draft.tokens", "result", "drafted").increment(drafted);
    registry.counter("infermesh.core.draft.tokens", "result", "accepted").increment(accepted);
  }

  /** Records one engine step (batch size), for the step histogram. */
  public void step(int sequences, long nanos) {
    DistributionSummary.builder("infermesh.core.step.sequences").register(registry).record(sequences);
    Timer.builder("infermesh.core.step.duration").register(registry).record(nanos, TimeUnit.NANOSECONDS);
  }
}
