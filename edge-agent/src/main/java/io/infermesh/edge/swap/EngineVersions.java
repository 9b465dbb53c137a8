package io.infermesh.edge.swap;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.edge.engine.Engine;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine versions an edge agent holds: the one serving new requests, at most one draining
 * (replaced, finishing the requests that hold it), and the previous one a rollback returns to. A
 * request takes an {@link EngineHold} on the serving version when it is opened and releases it
 * when its stream closes, so a swap never pulls an engine from under a request: new requests go to
 * the new version at once, the old one is closed when its last hold is released. When its drain
 * timeout passes first, every remaining holder is told to stop ({@link EngineHold#onExpiry}: the
 * request fails with a retryable error) and the engine closes as their streams close (a llama.cpp
 * model must never be freed under a running generation). At most two engines are loaded: {@link
 * #swap} refuses while one drains.
 *
 * <p>Thread-safe: the slots are guarded by a read-write lock. Taking and releasing a hold (every
 * request, cache hits included) needs only its read lock and a concurrent hold set, so requests never
 * queue behind one another there: a monitor taken twice per request made threads wait tens of
 * milliseconds behind a preempted holder on a busy 2-core box (issue 19, JFR {@code
 * jdk.JavaMonitorEnter}). Swaps, drains and unloads take the write lock; engines are closed and
 * holders told to stop outside it.
 */
public final class EngineVersions implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EngineVersions.class);
  private static final ScheduledExecutorService SHARED_TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "edge-drain-timer");
    t.setDaemon(true);
    return t;
  });

  /**
   * A loaded engine with where it came from.
   *
   * @param engine the engine (its {@code info().version()} is the version's label)
   * @param path the GGUF file it was loaded from
   * @param fileSha256 the file's SHA-256, lower-case hex
   * @param owned whether this object closes the engine when it unloads (false for one the caller shares)
   */
  public record Source(Engine engine, Path path, String fileSha256, boolean owned) {
    public Source {
      requireNonNull(engine, "engine");
      requireNonNull(path, "path");
      requireNonNull(fileSha256, "fileSha256");
    }
  }

  /** A version as a listing shows it. */
  public enum State { SERVING, DRAINING, PREVIOUS }

  /**
   * One listed version.
   *
   * @param name the model's name
   * @param version its label
   * @param path the GGUF file
   * @param fileSha256 the file's SHA-256
   * @param state what it does now
   * @param inFlight requests holding it (0 for previous)
   */
  public record Listed(String name, String version, Path path, String fileSha256, State state, int inFlight) {}

  /** What a version that is not loaded any more is, for a rollback to reload. */
  public record Unloaded(String name, String version, Path path, String fileSha256) {}

  /**
   * A version inside this object: its engine, holds and drain state. Its mutable fields are guarded
   * by the owning {@link EngineVersions} (written as comments: Error Prone cannot name an outer
   * instance through a parameter).
   */
  static final class Loaded {
    final Source source;
    // added and removed under the owner's read lock (hence concurrent), iterated under its write lock
    final Set<EngineHold> holds = ConcurrentHashMap.newKeySet();
    // written under the owning EngineVersions' write lock, read under its read lock
    boolean retired;
    // guarded by the owning EngineVersions' write lock
    ScheduledFuture<?> timeout;
    // guarded by the owning EngineVersions' write lock
    boolean closed;

    Loaded(Source source) {
      this.source = source;
    }

    Engine engine() {
      return source.engine();
    }

    Unloaded unloaded() {
      return new Unloaded(source.engine().info().name(), source.engine().info().version(), source.path(),
          source.fileSha256());
    }
  }

  private final ScheduledExecutorService timer;
  private final ReadWriteLock lock = new ReentrantReadWriteLock();
  @GuardedBy("lock")
  private Loaded serving;
  @GuardedBy("lock")
  private Loaded draining;
  @GuardedBy("lock")
  private Unloaded previous;

  /** Versions whose drain timeouts run on {@code timer}. */
  public EngineVersions(ScheduledExecutorService timer) {
    this.timer = requireNonNull(timer, "timer");
  }

  /** Versions whose drain timeouts run on one daemon thread shared in the JVM. */
  public static EngineVersions withSharedTimer() {
    return new EngineVersions(SHARED_TIMER);
  }

  /** The engine serving new requests, if one is loaded. */
  public Optional<Engine> current() {
    lock.readLock().lock();
    try {
      return Optional.ofNullable(serving).map(Loaded::engine);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A hold on the serving engine for one request (pair with {@link EngineHold#release()}); empty while none is loaded. */
  public Optional<EngineHold> acquire() {
    lock.readLock().lock();
    try {
      if (serving == null) {
        return Optional.empty();
      }
      EngineHold hold = new EngineHold(this, serving);
      serving.holds.add(hold);
      return Optional.of(hold);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Whether a replaced version still drains (a swap is refused until it unloads). */
  public Optional<Listed> draining() {
    lock.readLock().lock();
    try {
      return Optional.ofNullable(draining).map(d -> listed(d, State.DRAINING));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The version a rollback returns to, if any (it may still be loaded, draining). */
  public Optional<Unloaded> previous() {
    lock.readLock().lock();
    try {
      return Optional.ofNullable(previous);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Serving first, then draining, then previous (when it is not the draining one). */
  public List<Listed> list() {
    lock.readLock().lock();
    try {
      return listLocked();
    } finally {
      lock.readLock().unlock();
    }
  }

  @GuardedBy("lock")
  private List<Listed> listLocked() {
    List<Listed> out = new ArrayList<>(3);
    if (serving != null) {
      out.add(listed(serving, State.SERVING));
    }
    if (draining != null) {
      out.add(listed(draining, State.DRAINING));
    }
    if (previous != null && (draining == null || !draining.unloaded().equals(previous))) {
      out.add(new Listed(previous.name(), previous.version(), previous.path(), previous.fileSha256(),
          State.PREVIOUS, 0));
    }
    return out;
  }

  @GuardedBy("lock")
  private Listed listed(Loaded v, State state) {
    return new Listed(v.engine().info().name(), v.engine().info().version(), v.source.path(), v.source.fileSha256(),
        state, v.holds.size());
  }

  /**
   * Makes {@code next} serve new requests; the version it replaces (if any) drains for at most
   * {@code drain}. Returns the replaced version's listing (DRAINING, or PREVIOUS when nothing held it).
   *
   * @throws IllegalStateException while a replaced version still drains (three engines would be loaded)
   */
  public Optional<Listed> swap(Source next, Duration drain) {
    requireNonNull(next, "next");
    requireNonNull(drain, "drain");
    Loaded old;
    Listed replaced;
    lock.writeLock().lock();
    try {
      if (draining != null) {
        throw new IllegalStateException("version " + draining.engine().info().version() + " still drains");
      }
      old = serving;
      serving = new Loaded(next);
      replaced = old == null ? null : retire(old, drain);
    } finally {
      lock.writeLock().unlock();
    }
    log.info("serving model {} version {} (sha256 {}) from {}", next.engine().info().name(),
        next.engine().info().version(), next.fileSha256(), next.path());
    closeIfIdle(old);
    return Optional.ofNullable(replaced);
  }

  /**
   * Rolls back without loading when the previous version is still loaded (draining): it serves new
   * requests again and the current one drains in its place. Empty when the previous version is not
   * loaded any more (or there is none): the caller reloads it and {@link #swap}s.
   */
  public Optional<Listed> reactivatePrevious(Duration drain) {
    Loaded old;
    Listed replaced;
    lock.writeLock().lock();
    try {
      if (draining == null || serving == null || draining.closed) {
        return Optional.empty();
      }
      Loaded back = draining;
      if (back.timeout != null) {
        back.timeout.cancel(false);
        back.timeout = null;
      }
      back.retired = false;
      old = serving;
      serving = back;
      draining = null;
      replaced = retire(old, drain);
    } finally {
      lock.writeLock().unlock();
    }
    log.info("rolled back to version {} (still loaded)", current().map(e -> e.info().version()).orElse("?"));
    closeIfIdle(old);
    return Optional.of(replaced);
  }

  @GuardedBy("lock")
  private Listed retire(Loaded old, Duration drain) {
    old.retired = true;
    previous = old.unloaded();
    if (old.holds.isEmpty()) {
      return listed(old, State.PREVIOUS);
    }
    draining = old;
    old.timeout = timer.schedule(() -> expire(old), drain.toNanos(), TimeUnit.NANOSECONDS);
    return listed(old, State.DRAINING);
  }

  /** The drain timeout passed: every holder still running is told to stop. */
  private void expire(Loaded v) {
    List<EngineHold> holders;
    lock.writeLock().lock();
    try {
      if (draining != v || v.closed) {
        return;
      }
      holders = List.copyOf(v.holds);
    } finally {
      lock.writeLock().unlock();
    }
    log.warn("version {} still had {} requests after its drain timeout; stopping them",
        v.engine().info().version(), holders.size());
    holders.forEach(EngineHold::expire);
  }

  void released(EngineHold hold, Loaded v) {
    boolean last;
    lock.readLock().lock();
    try {
      v.holds.remove(hold);
      last = v.retired && v.holds.isEmpty();
    } finally {
      lock.readLock().unlock();
    }
    if (!last) {
      return; // serving, or other holds remain: whoever releases the last one of a retired version unloads it
    }
    closeIfIdle(v);
  }

  /**
   * Unloads a retired version with no hold left, once: called after a swap and by whoever releases
   * a retired version's last hold (either may come first, so both end its drain the same way).
   */
  private void closeIfIdle(Loaded old) {
    if (old == null) {
      return;
    }
    lock.writeLock().lock();
    try {
      if (!old.retired || !old.holds.isEmpty() || old.closed) {
        return;
      }
      old.closed = true;
      if (old.timeout != null) {
        old.timeout.cancel(false);
      }
      if (draining == old) {
        draining = null;
      }
    } finally {
      lock.writeLock().unlock();
    }
    unload(old);
  }

  private static void unload(Loaded v) {
    log.info("unloading model version {}", v.engine().info().version());
    if (v.source.owned()) {
      v.engine().close();
    }
  }

  /** Closes the loaded engines (the agent stops; no request may be running). */
  @Override
  public void close() {
    List<Loaded> loaded = new ArrayList<>(2);
    lock.writeLock().lock();
    try {
      for (Loaded v : new Loaded[] {serving, draining}) {
        if (v != null && !v.closed) {
          v.closed = true;
          loaded.add(v);
        }
      }
      serving = null;
      draining = null;
    } finally {
      lock.writeLock().unlock();
    }
    loaded.forEach(EngineVersions::unload);
  }
}
