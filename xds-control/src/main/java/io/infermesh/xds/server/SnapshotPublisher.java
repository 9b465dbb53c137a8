package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.SnapshotCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.infermesh.xds.snapshot.BurstShares;
import io.infermesh.xds.snapshot.BurstTracker;
import io.infermesh.xds.snapshot.IncrementalSnapshotBuilder;
import io.infermesh.xds.snapshot.MeshPolicy;
import io.infermesh.xds.snapshot.MeshSnapshots;
import io.infermesh.xds.snapshot.MeshState;
import io.infermesh.xds.snapshot.SecretMaterial;
import io.infermesh.xds.snapshot.ServiceRegion;
import io.infermesh.xds.snapshot.XdsGroup;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the snapshot cache in step with the mesh: on every discovery change, secret rotation and
 * periodic tick it advances the burst state, rebuilds every group's snapshot and sets those whose
 * versions changed. Nothing is published before the first mesh state arrives, so a restarted
 * control plane never hands clients an empty mesh.
 *
 * <p>A failed build is logged and counted ({@code infermesh.xds.snapshot.failures}); the last
 * published snapshots stay in force and the next tick tries again — the loop never dies.
 *
 * <p>Thread-safety: all building happens on the injected single-threaded executor; {@link
 * #update} and {@link #requestPublish} may be called from any thread and coalesce.
 */
public final class SnapshotPublisher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);

  private final SnapshotCache<XdsGroup, Snapshot> cache;
  private volatile MeshPolicy policy;
  private final AtomicBoolean policyChanged = new AtomicBoolean();
  private final Supplier<SecretMaterial> secrets;
  private final Clock clock;
  private final ScheduledExecutorService executor;
  private final Duration tick;
  private final BurstTracker burst = new BurstTracker();
  // confined to the executor thread: rebuilds only the services whose inputs changed
  private final IncrementalSnapshotBuilder builder = new IncrementalSnapshotBuilder();
  private final AtomicReference<MeshState> pending = new AtomicReference<>();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final CountDownLatch firstPublish = new CountDownLatch(1);
  private final Timer buildTime;
  private final Counter failures;
  private final Map<ServiceRegion, Double> shareGauges = new ConcurrentHashMap<>();
  private final MeterRegistry meters;
  // confined to the executor thread
  private volatile MeshState state;
  private volatile BurstShares shares = BurstShares.none();
  private SecretMaterial publishedSecrets;
  private volatile MeshSnapshots current;
  private volatile ScheduledFuture<?> ticker;

  /**
   * @param executor a single-threaded executor; every build runs on it
   * @param tick how often burst state is re-evaluated even without discovery changes
   */
  public SnapshotPublisher(
      SnapshotCache<XdsGroup, Snapshot> cache,
      MeshPolicy policy,
      Supplier<SecretMaterial> secrets,
      Clock clock,
      ScheduledExecutorService executor,
      Duration tick,
      MeterRegistry meters) {
    this.cache = requireNonNull(cache, "cache");
    this.policy = requireNonNull(policy, "policy");
    this.secrets = requireNonNull(secrets, "secrets");
    this.clock = requireNonNull(clock, "clock");
    this.executor = requireNonNull(executor, "executor");
    this.tick = requireNonNull(tick, "tick");
    this.meters = requireNonNull(meters, "meters");
    this.buildTime = Timer.builder("infermesh.xds.snapshot.build")
        .description("Time to build every group's snapshot").register(meters);
    this.failures = Counter.builder("infermesh.xds.snapshot.failures")
        .description("Snapshot builds that failed (the previous snapshots stayed in force)").register(meters);
  }

  /** Starts the periodic tick. */
  public void start() {
    long nanos = tick.toNanos();
    ticker = executor.scheduleWithFixedDelay(this::publishSafely, nanos, nanos, TimeUnit.NANOSECONDS);
  }

  /** A new mesh state from discovery; published soon on the executor. */
  public void update(MeshState newState) {
    pending.set(requireNonNull(newState, "newState"));
    requestPublish();
  }

  /**
   * Publishes {@code newPolicy} from now on (a canary rollout moved its weights); rebuilt soon on
   * the executor. The node groups stay those of the first policy: only what a group's snapshot
   * holds may change (version weights, not regions or gateways).
   */
  public void replacePolicy(MeshPolicy newPolicy) {
    policy = requireNonNull(newPolicy, "newPolicy");
    policyChanged.set(true);
    requestPublish();
  }

  /** The policy in force. */
  public MeshPolicy policy() {
    return policy;
  }

  /** Asks for a rebuild (e.g. after secrets rotated); coalesces with other requests. */
  public void requestPublish() {
    if (scheduled.compareAndSet(false, true)) {
      try {
        executor.execute(() -> {
          scheduled.set(false);
          publishSafely();
        });
      } catch (RejectedExecutionException e) {
        scheduled.set(false);
      }
    }
  }

  /** Waits until the first snapshots are in the cache. */
  public boolean awaitFirstPublish(Duration timeout) throws InterruptedException {
    return firstPublish.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** The snapshots last published; null before the first. */
  public MeshSnapshots current() {
    return current;
  }

  /** The mesh state last published; null before the first. */
  public MeshState state() {
    MeshSnapshots c = current;
    return c == null ? null : state;
  }

  /** The burst shares last published. */
  public BurstShares shares() {
    return shares;
  }

  private void publishSafely() {
    try {
      publish();
    } catch (RuntimeException e) {
      failures.increment();
      log.error("xds: building snapshots failed; the previous snapshots stay in force, retrying in {} ms",
          tick.toMillis(), e);
    }
  }

  private void publish() {
    MeshState incoming = pending.getAndSet(null);
    if (incoming != null) {
      state = incoming;
    }
    if (state == null) {
      return; // nothing discovered yet: publish nothing rather than an empty mesh
    }
    MeshPolicy inForce = policy;
    boolean newPolicy = policyChanged.getAndSet(false);
    BurstShares nextShares = burst.update(state, inForce, clock.instant());
    SecretMaterial nextSecrets = secrets.get();
    if (incoming == null && !newPolicy && nextShares.equals(shares) && Objects.equals(nextSecrets, publishedSecrets)
        && current != null) {
      return;
    }
    if (!nextShares.equals(shares)) {
      log.info("xds: burst shares now {}", nextShares.shares().isEmpty() ? "none" : nextShares.shares());
      updateShareGauges(nextShares);
    }
    long started = System.nanoTime();
    MeshSnapshots built = builder.build(state, inForce, nextShares, nextSecrets);
    buildTime.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
    int changed = 0;
    for (Map.Entry<XdsGroup, Snapshot> e : built.snapshots().entrySet()) {
      Snapshot previous = current == null ? null : current.snapshots().get(e.getKey());
      if (previous == null || !sameVersions(previous, e.getValue())) {
        cache.setSnapshot(e.getKey(), e.getValue());
        changed++;
      }
    }
    shares = nextShares;
    publishedSecrets = nextSecrets;
    current = built;
    if (changed > 0) {
      log.debug("xds: published {} changed group snapshots", changed);
    }
    firstPublish.countDown();
  }

  private void updateShareGauges(BurstShares next) {
    for (ServiceRegion key : next.shares().keySet()) {
      shareGauges.computeIfAbsent(key, k -> {
        meters.gauge("infermesh.xds.burst.share",
            List.of(io.micrometer.core.instrument.Tag.of("service", k.service()),
                io.micrometer.core.instrument.Tag.of("region", k.region())),
            this, p -> p.shares.share(k.service(), k.region()));
        return 0.0;
      });
    }
  }

  private static boolean sameVersions(Snapshot a, Snapshot b) {
    for (Resources.ResourceType type : Resources.ResourceType.values()) {
      if (!a.version(type).equals(b.version(type))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void close() {
    ScheduledFuture<?> t = ticker;
    if (t != null) {
      t.cancel(false);
    }
  }
}
