package io.infermesh.core.shard;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.core.lifecycle.ModelSource;
import io.infermesh.core.lifecycle.StageModel;
import io.infermesh.core.status.CoreException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The versions of its layers a later pipeline stage holds, by model digest: the current one, one
 * being prepared for a swap, and the one a swap replaced while streams still use it. Each
 * {@code Shard.Forward} stream {@linkplain #acquire binds} to the version its hello names, so a
 * swap on stage 0 moves the pipeline stream by stream: the old streams keep the old layers until
 * stage 0 closes them. A replaced version unloads when its last stream ends or its drain timeout
 * passes (its streams then fail UNAVAILABLE at stage 0). At most two versions are loaded; a third
 * prepare is refused ABORTED until the replaced one unloads.
 *
 * <p>Thread-safe: the table is guarded by {@code this}; unloading runs on the stage's worker (the
 * engine's one thread), after the steps queued before it.
 */
public final class StageVersions implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StageVersions.class);
  /** At most this many versions loaded at once: the serving one and one prepared or draining. */
  static final int MAX_LOADED = 2;

  private final ScheduledExecutorService timers;
  private final Executor engine;
  private final Runnable changed;
  @GuardedBy("this")
  private final Map<String, Held> loaded = new LinkedHashMap<>();
  @GuardedBy("this")
  private String current; // digest of the version new streams are expected to name
  @GuardedBy("this")
  private Listed previous; // what a rollback returns to, for listings

  /**
   * @param timers runs drain timeouts
   * @param engine the stage's worker, the one thread that runs the layers: unloads run there, after
   *     the steps queued before them
   * @param changed runs after the current version changes (e.g. to update health); must not block
   */
  public StageVersions(ScheduledExecutorService timers, Executor engine, Runnable changed) {
    this.timers = timers;
    this.engine = engine;
    this.changed = changed;
  }

  /** A version for listings: the layers, where they came from, and what they are doing. */
  public record Listed(String name, String version, String sha256, ModelSource source, Map<String, String> digests,
      String state, int streams) {}

  /** The version new streams should name, if any is loaded. */
  public synchronized Optional<StageModel> current() {
    return Optional.ofNullable(current).map(loaded::get).map(h -> h.model);
  }

  /**
   * The loaded version with digest {@code sha256}, bound to one more stream; pair with
   * {@link #release}. Null when none is loaded.
   */
  public synchronized StageModel acquire(String sha256) {
    Held h = find(sha256);
    if (h == null || h.unloading) {
      return null;
    }
    h.streams++;
    return h.model;
  }

  /** A stream bound to {@code model} ended (after the worker ran its last step). */
  public void release(StageModel model) {
    Held unload = null;
    synchronized (this) {
      Held h = loaded.get(model.sha256());
      if (h == null || h.model != model) {
        return;
      }
      h.streams--;
      if (h.streams == 0 && h.retiring && !h.unloading) {
        h.unloading = true;
        unload = h;
      }
    }
    if (unload != null) {
      unload(unload);
    }
  }

  /**
   * Adds {@code model} beside the current version (a prepared swap). Loading the version already
   * held is a no-op that closes {@code model}.
   *
   * @throws CoreException ABORTED when two versions are loaded already
   */
  public void prepare(StageModel model, String version, ModelSource source, Map<String, String> digests) {
    synchronized (this) {
      Held h = find(model.sha256());
      if (h == null) {
        if (loaded.size() >= MAX_LOADED) {
          model.close();
          throw CoreException.of(CoreException.Kind.ABORTED, "stage " + model.stageIndex() + " still holds two"
              + " versions (one draining); retry once the old one unloads");
        }
        loaded.put(model.sha256(), new Held(model, version, source, digests));
        return;
      }
    }
    model.close(); // already held (e.g. a rollback while the old version drains)
  }

  /** Whether the version with {@code sha256} is loaded (and not unloading). */
  public synchronized boolean holds(String sha256) {
    Held h = find(sha256);
    return h != null && !h.unloading;
  }

  /**
   * Makes the version with {@code sha256} current; the one it replaces unloads after its last
   * stream or after {@code drain}.
   *
   * @throws CoreException NOT_FOUND when that version is not loaded here
   */
  public void commit(String sha256, Duration drain) {
    Held old;
    synchronized (this) {
      Held next = find(sha256);
      if (next == null || next.unloading) {
        throw CoreException.of(CoreException.Kind.NOT_FOUND, "version " + sha256 + " is not prepared on this stage");
      }
      next.retiring = false;
      if (next.timeout != null) {
        next.timeout.cancel(false);
      }
      old = current == null || current.equals(next.model.sha256()) ? null : loaded.get(current);
      current = next.model.sha256();
      if (old != null) {
        previous = old.listed("previous");
        old.retiring = true;
        if (old.streams == 0) {
          old.unloading = true;
        } else {
          Held o = old;
          old.timeout = timers.schedule(() -> timedOut(o), drain.toNanos(), TimeUnit.NANOSECONDS);
          old = null;
        }
      }
    }
    changed.run();
    if (old != null) {
      unload(old);
    }
  }

  /** Drops the prepared version with {@code sha256}, unless it is current or streams use it. */
  public void abort(String sha256) {
    Held drop;
    synchronized (this) {
      drop = find(sha256);
      if (drop == null || drop.model.sha256().equals(current) || drop.streams > 0 || drop.unloading) {
        return;
      }
      drop.unloading = true;
    }
    unload(drop);
  }

  /** Every version held, current first, then the previous one (possibly unloaded). */
  public synchronized List<Listed> list() {
    List<Listed> out = new ArrayList<>();
    Held cur = current == null ? null : loaded.get(current);
    if (cur != null) {
      out.add(cur.listed("serving"));
    }
    for (Held h : loaded.values()) {
      if (h != cur && !h.unloading) {
        out.add(h.listed(h.retiring ? "draining" : "prepared"));
      }
    }
    Listed prev = previous;
    if (prev != null && out.stream().noneMatch(l -> l.sha256().equals(prev.sha256()))) {
      out.add(prev);
    }
    return out;
  }

  private void timedOut(Held h) {
    synchronized (this) {
      if (!h.retiring || h.unloading) {
        return;
      }
      h.unloading = true;
    }
    log.warn("stage version {}: drain timeout passed with {} streams open; unloading", h.version, h.streams);
    unload(h);
  }

  @GuardedBy("this")
  private Held find(String sha256) {
    for (Held h : loaded.values()) {
      if (h.model.sha256().equalsIgnoreCase(sha256)) {
        return h;
      }
    }
    return null;
  }

  private void unload(Held h) {
    Runnable drop = () -> {
      synchronized (this) {
        loaded.remove(h.model.sha256(), h);
      }
      log.info("stage {}: unloading version {}", h.model.stageIndex(), h.version);
      h.model.close();
    };
    try {
      engine.execute(drop);
    } catch (RejectedExecutionException e) {
      drop.run();
    }
  }

  @Override
  public void close() {
    List<Held> all;
    synchronized (this) {
      all = List.copyOf(loaded.values());
      loaded.clear();
      current = null;
    }
    all.forEach(h -> h.model.close());
  }

  /** One loaded version; mutable fields guarded by the table's lock. */
  private static final class Held {
    final StageModel model;
    final String version;
    final ModelSource source;
    final Map<String, String> digests;
    int streams;
    boolean retiring;
    boolean unloading;
    ScheduledFuture<?> timeout;

    Held(StageModel model, String version, ModelSource source, Map<String, String> digests) {
      this.model = model;
      this.version = version;
      this.source = source;
      this.digests = Map.copyOf(digests);
    }

    Listed listed(String state) {
      return new Listed(model.name(), version, model.sha256(), source, digests, state, streams);
    }
  }
}
