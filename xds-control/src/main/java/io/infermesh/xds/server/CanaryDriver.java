package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.xds.canary.CanaryRollout;
import io.infermesh.xds.canary.RolloutPlan;
import io.infermesh.xds.canary.RolloutStatus;
import io.infermesh.xds.canary.VersionStats;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshPolicy;
import io.infermesh.xds.snapshot.MeshState;
import io.infermesh.xds.snapshot.ServicePolicy;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@code rollouts} of {@code mesh.yaml}: every plan's {@code interval} it scrapes the
 * service's serving nodes ({@link MetricsScraper}: each node's own {@code /metrics}, the version of
 * each series from its {@code model_version} label), feeds the canary version's sum to its {@link
 * CanaryRollout}, and when the split changes republishes the snapshots with the new weights
 * ({@link SnapshotPublisher#replacePolicy}).
 *
 * <p>Why scrape rather than have nodes push: the core already exposes exactly these figures for
 * Prometheus, cumulative (a lost scrape loses nothing: the next one carries the same counts), and
 * scraping needs no new RPC, no credentials for nodes to reach the control plane and no state
 * nodes must keep for it. The cost is that the control plane must reach each node's metrics port
 * ({@code metrics_port} in discovery). A scrape that fails for any node is skipped whole and
 * counted ({@code infermesh.canary.scrape.failures}): judging a partial sum would read as counters
 * going down.
 *
 * <p>Metrics: {@code infermesh.canary.weight{service,version}} (percent of unpinned traffic),
 * {@code infermesh.canary.phase{service,phase}} (1 for the phase in force), {@code
 * infermesh.canary.step{service}}, {@code infermesh.canary.rollbacks{service}}, {@code
 * infermesh.canary.window.requests} and {@code .error.rate} and {@code .ttft.p99} (seconds) of the
 * current step.
 *
 * <p>Thread-safety: each rollout is confined to the single-threaded {@code executor}; {@link
 * #statuses()} may be read from any thread.
 */
final class CanaryDriver implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CanaryDriver.class);

  private final MeshPolicy base;
  private final List<CanaryRollout> rollouts = new ArrayList<>();
  private final SnapshotPublisher publisher;
  private final MetricsScraper scraper;
  private final ScheduledExecutorService executor;
  private final MeterRegistry meters;
  private final Map<String, RolloutStatus> statuses = new ConcurrentHashMap<>();
  private final Map<String, Counter> scrapeFailures = new ConcurrentHashMap<>();

  /**
   * @param base the policy of {@code mesh.yaml}; each rolled-out service's versions are set from
   *     its rollout's status on top of it
   * @param executor single-threaded; every scrape and judgement runs on it
   */
  CanaryDriver(MeshPolicy base, List<RolloutPlan> plans, Clock clock, SnapshotPublisher publisher,
      MetricsScraper scraper, ScheduledExecutorService executor, MeterRegistry meters) {
    this.base = requireNonNull(base, "base");
    this.publisher = requireNonNull(publisher, "publisher");
    this.scraper = requireNonNull(scraper, "scraper");
    this.executor = requireNonNull(executor, "executor");
    this.meters = requireNonNull(meters, "meters");
    for (RolloutPlan plan : plans) {
      CanaryRollout rollout = new CanaryRollout(plan, clock);
      rollouts.add(rollout);
      statuses.put(plan.service(), rollout.status());
      registerMeters(plan);
    }
  }

  /** {@code base} with every rollout's first step in force: what is published before any report. */
  static MeshPolicy initialPolicy(MeshPolicy base, List<RolloutPlan> plans, Clock clock) {
    MeshPolicy policy = base;
    for (RolloutPlan plan : plans) {
      ServicePolicy service = policy.service(plan.service()).orElseThrow();
      policy = policy.withService(service.withVersions(new CanaryRollout(plan, clock).status().weights()));
    }
    return policy;
  }

  /** Starts judging every rollout at its interval. */
  void start() {
    for (CanaryRollout rollout : rollouts) {
      long every = rollout.plan().interval().toNanos();
      executor.scheduleWithFixedDelay(() -> judgeSafely(rollout), every, every, TimeUnit.NANOSECONDS);
    }
  }

  /** Every rollout's status, by service. */
  Map<String, RolloutStatus> statuses() {
    return new LinkedHashMap<>(statuses);
  }

  /** What {@code GET /canary} shows: per service, the phase, step, weights, reason and the step's figures. */
  Map<String, Object> view() {
    Map<String, Object> out = new LinkedHashMap<>();
    for (CanaryRollout rollout : rollouts) {
      RolloutStatus s = statuses.get(rollout.plan().service());
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("stable", s.stable());
      v.put("canary", s.canary());
      v.put("phase", s.phase().name().toLowerCase());
      v.put("step", s.step());
      v.put("steps", rollout.plan().steps());
      v.put("canaryPercent", s.canaryPercent());
      v.put("since", s.since().toString());
      v.put("reason", s.reason());
      Map<String, Object> window = new LinkedHashMap<>();
      window.put("requests", s.window().requests());
      window.put("errors", s.window().errors());
      window.put("errorRate", s.window().errorRate());
      window.put("ttftP99Seconds", s.window().ttft().quantileUpperBound(0.99)
          .map(p -> p.isInfinite() ? "+Inf" : (Object) p).orElse(null));
      v.put("window", window);
      out.put(s.service(), v);
    }
    return out;
  }

  private void judgeSafely(CanaryRollout rollout) {
    try {
      judge(rollout);
    } catch (RuntimeException e) {
      log.error("canary {}: judging failed; the weights in force stay, retrying", rollout.plan().service(), e);
    }
  }

  private void judge(CanaryRollout rollout) {
    RolloutPlan plan = rollout.plan();
    MeshState state = publisher.state();
    if (state == null) {
      return;
    }
    List<MeshEndpoint> nodes = state.endpoints().stream()
        .filter(e -> e.service().equals(plan.service()) && e.health().serving() && e.metricsPort() > 0)
        .toList();
    VersionStats canary;
    try {
      canary = scraper.scrape(nodes).getOrDefault(plan.canary(), VersionStats.NONE);
    } catch (IOException e) {
      scrapeFailures.get(plan.service()).increment();
      log.warn("canary {}: {}; not judged this time", plan.service(), e.getMessage());
      return;
    }
    RolloutStatus before = statuses.get(plan.service());
    RolloutStatus now = rollout.evaluate(canary);
    statuses.put(plan.service(), now);
    if (now.phase() != before.phase() || now.canaryPercent() != before.canaryPercent()) {
      if (now.phase() == RolloutStatus.Phase.ROLLED_BACK) {
        meters.counter("infermesh.canary.rollbacks", "service", plan.service()).increment();
        log.warn("canary {}: {}", plan.service(), now.reason());
      } else {
        log.info("canary {}: {}", plan.service(), now.reason());
      }
      publisher.replacePolicy(policyFor(statuses));
    }
  }

  private MeshPolicy policyFor(Map<String, RolloutStatus> current) {
    MeshPolicy policy = base;
    for (RolloutStatus s : current.values()) {
      ServicePolicy service = policy.service(s.service()).orElseThrow();
      policy = policy.withService(service.withVersions(s.weights()));
    }
    return policy;
  }

  private void registerMeters(RolloutPlan plan) {
    String service = plan.service();
    for (String version : List.of(plan.stable(), plan.canary())) {
      Gauge.builder("infermesh.canary.weight", statuses, m -> m.get(service).weights().stream()
              .filter(w -> w.version().equals(version)).mapToInt(w -> w.weight()).sum())
          .description("Percent of the service's unpinned traffic on this version, as the rollout publishes it")
          .tags("service", service, "version", version).register(meters);
    }
    for (RolloutStatus.Phase phase : RolloutStatus.Phase.values()) {
      Gauge.builder("infermesh.canary.phase", statuses, m -> m.get(service).phase() == phase ? 1 : 0)
          .description("1 for the rollout's phase in force")
          .tags("service", service, "phase", phase.name().toLowerCase()).register(meters);
    }
    Gauge.builder("infermesh.canary.step", statuses, m -> m.get(service).step())
        .description("Index of the rollout's step in force").tag("service", service).register(meters);
    Gauge.builder("infermesh.canary.window.requests", statuses, m -> m.get(service).window().requests())
        .description("Canary requests in the current step").tag("service", service).register(meters);
    Gauge.builder("infermesh.canary.window.error.rate", statuses, m -> m.get(service).window().errorRate())
        .description("Canary error rate in the current step").tag("service", service).register(meters);
    Gauge.builder("infermesh.canary.window.ttft.p99", statuses,
            m -> m.get(service).window().ttft().quantileUpperBound(0.99).orElse(Double.NaN))
        .description("Canary TTFT p99 (bucket upper bound) in the current step").baseUnit("seconds")
        .tag("service", service).register(meters);
    meters.counter("infermesh.canary.rollbacks", "service", service);
    scrapeFailures.put(service, Counter.builder("infermesh.canary.scrape.failures")
        .description("Scrapes of the service's nodes that failed (the rollout was not judged)")
        .tag("service", service).register(meters));
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
