package io.infermesh.edge.reanswer;

import static java.util.Objects.requireNonNull;

import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.config.Reanswer;
import io.infermesh.edge.escalate.CoreClient;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.serve.Deferral;
import io.infermesh.edge.serve.Deferrals;
import io.infermesh.edge.serve.Escalator;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deferred re-answers ({@code reanswer:}): the {@link Deferrals} of an edge with a core. A degraded
 * answer that asked for it is kept in the {@link ReanswerStore} (its request as the core would
 * receive it, at low priority) before its id is told; one daemon thread ({@code infermesh-reanswer})
 * runs, every {@link #TICK}, the {@link Replayer} (expiry, then the queue while the core is usable)
 * and the {@link WebhookDelivery}, if configured. A failed round is logged and the next one runs.
 *
 * <p>Thread-safe: request threads defer and look up through the store's lock; everything else runs
 * on the one thread. {@link #close()} stops the thread (a replay in flight is abandoned and sent
 * again by the next edge on this {@code data_dir}) and closes the store.
 */
public final class Reanswers implements Deferrals, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Reanswers.class);
  static final Duration TICK = Duration.ofMillis(500);

  private final ReanswerStore store;
  private final Set<String> tenants;
  private final CoreClient core;
  private final Clock clock;
  private final Replayer replayer;
  private final WebhookDelivery webhook; // null without reanswer.webhook
  private final ScheduledExecutorService thread;
  private final MeterRegistry registry;

  private Reanswers(Reanswer config, ReanswerStore store, CoreClient core, Clock clock, MeterRegistry registry) {
    this.store = store;
    this.registry = registry;
    this.tenants = Set.copyOf(config.tenants());
    this.core = core;
    this.clock = clock;
    this.replayer = new Replayer(store, link(core), clock, config.replayTimeout(), config.ttl(),
        config.webhook().isPresent());
    this.webhook = config.webhook().map(w -> new WebhookDelivery(store, w, clock)).orElse(null);
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "infermesh-reanswer");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Opens the queue in {@code config.dataDir()} and starts replaying to {@code core}; counts deferrals in
   * {@code registry} ({@code infermesh.edge.reanswer.deferrals{outcome}}, {@code
   * infermesh.edge.reanswer.pending}).
   *
   * @throws IOException when the queue cannot be opened
   */
  public static Reanswers start(Reanswer config, CoreClient core, Clock clock, MeterRegistry registry)
      throws IOException {
    requireNonNull(config, "config");
    requireNonNull(registry, "registry");
    requireNonNull(core, "core");
    requireNonNull(clock, "clock");
    if (!config.enabled()) {
      throw new IllegalArgumentException("reanswer.enabled is false");
    }
    ReanswerStore store = ReanswerStore.open(config.dataDir().orElseThrow(), config.maxEntries(), config.maxBytes());
    Reanswers r = new Reanswers(config, store, core, clock, registry);
    Gauge.builder("infermesh.edge.reanswer.pending", store, ReanswerStore::pendingCount)
        .description("Degraded answers waiting for the core's re-answer").register(registry);
    r.thread.scheduleWithFixedDelay(r::round, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
    log.info("reanswer: queue in {} ({} waiting)", config.dataDir().get(), store.pendingCount());
    return r;
  }

  private static CoreLink link(CoreClient core) {
    return new CoreLink() {
      @Override
      public CoreState state() {
        return core.state();
      }

      @Override
      public void reconnectNow() {
        core.reconnectNow();
      }

      @Override
      public Iterator<GenerateChunk> generate(GenerateRequest request, Duration timeout) {
        return core.generate(request, timeout);
      }
    };
  }

  private void round() {
    try {
      replayer.round();
      if (webhook != null) {
        webhook.round();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.error("reanswer: round failed, trying again in {}: {}", TICK, e.toString());
    }
  }

  @Override
  public boolean enabled() {
    return true;
  }

  @Override
  public boolean always(Tenant tenant) {
    return tenants.contains(tenant.name());
  }

  @Override
  public Deferral defer(Escalator.Call replay) {
    byte[] request = core.wireRequest(replay).toByteArray();
    Deferral d = store.defer(replay.tenant().name(), request, clock.millis());
    Counter.builder("infermesh.edge.reanswer.deferrals").description("Degraded answers kept for the core's re-answer"
        + " (outcome deferred), or refused a deferral (outcome = the reason)")
        .tag("outcome", d.deferred() ? "deferred" : d.reason()).register(registry).increment();
    if (d.deferred()) {
      log.info("reanswer {}: request {} kept for the core", d.id(), replay.requestId());
    } else {
      log.warn("reanswer: request {} not kept ({})", replay.requestId(), d.reason());
    }
    return d;
  }

  @Override
  public Answer answer(String id, Tenant tenant) {
    if (id.length() != 35 || !Deferral.ID.matcher(id).matches()) {
      return Answer.UNKNOWN;
    }
    return store.find(id, tenant.name());
  }

  /** Requests waiting for the core. */
  public int pending() {
    return store.pendingCount();
  }

  @Override
  public void close() {
    thread.shutdownNow();
    try {
      if (!thread.awaitTermination(5, TimeUnit.SECONDS)) {
        log.warn("reanswer: the replayer did not stop within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    store.close();
  }
}
