package io.infermesh.core.lifecycle;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.core.status.CoreException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model versions a node holds: the one serving new requests, at most one draining (replaced,
 * finishing its requests), and the previous one a rollback returns to. A hot swap loads the new
 * version beside the old one, switches new requests to it atomically, and {@linkplain
 * ServedModel#retire retires} the old one, which unloads itself when its last request ends or its
 * drain timeout passes: no request is dropped. So at most two versions are loaded at once.
 *
 * <p>Thread-safe: the three slots are guarded by {@code this}; unloading runs on the injected
 * executor.
 */
public final class ModelHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelHost.class);

  private final Consumer<Boolean> readiness;
  private final ScheduledExecutorService unloader;
  @GuardedBy("this")
  private HostedVersion serving;
  @GuardedBy("this")
  private HostedVersion draining;
  @GuardedBy("this")
  private HostedVersion previous;

  /**
   * @param readiness hears true once a model serves, false when none does (e.g. to flip health)
   * @param unloader runs drain timeouts and unloads (never the batch loop's thread)
   */
  public ModelHost(Consumer<Boolean> readiness, ScheduledExecutorService unloader) {
    this.readiness = readiness;
    this.unloader = unloader;
  }

  /** The model serving new requests, if one is loaded. */
  public synchronized Optional<ServedModel> current() {
    return Optional.ofNullable(serving).map(HostedVersion::model);
  }

  /** The version serving new requests, if one is loaded. */
  public synchronized Optional<HostedVersion> serving() {
    return Optional.ofNullable(serving);
  }

  /** The replaced version still finishing its requests, if any. */
  public synchronized Optional<HostedVersion> draining() {
    return Optional.ofNullable(draining);
  }

  /** The version a rollback returns to (loaded while it drains, unloaded after), if any. */
  public synchronized Optional<HostedVersion> previous() {
    return Optional.ofNullable(previous);
  }

  /**
   * The serving model, {@linkplain ServedModel#tryAcquire() acquired} for one request: pair with
   * {@link ServedModel#release()}. A model retired between the read and the acquire is skipped for
   * its successor, so a request never lands on a draining version.
   *
   * @throws CoreException UNAVAILABLE when no model is loaded
   */
  public ServedModel acquire() {
    for (int tries = 0; tries < 100; tries++) {
      ServedModel m = current().orElseThrow(() -> CoreException.unavailable("the model is still loading"));
      if (m.tryAcquire()) {
        return m;
      }
      Thread.onSpinWait(); // swapped just now: the successor is already in place
    }
    throw CoreException.unavailable("the model is being swapped; retry");
  }

  /**
   * Makes {@code next} serve new requests and retires the version it replaces, which unloads after
   * its last request or after {@code drain}. Returns the replaced version, if any.
   */
  public Optional<HostedVersion> swap(HostedVersion next, Duration drain) {
    HostedVersion old;
    synchronized (this) {
      old = serving;
      serving = next;
      if (old != null) {
        previous = old;
        draining = old;
      }
    }
    readiness.accept(true);
    log.info("serving model {} version {} on {}", next.model().name(), next.model().version(), next.model().device());
    if (old != null) {
      old.model().retire(drain, unloader, this::unloaded);
    }
    return Optional.ofNullable(old);
  }

  /**
   * Rolls back without loading when the previous version is still loaded (draining): it serves new
   * requests again and the current one retires in its place. Empty when the previous version is
   * already unloaded (or there is none): the caller reloads it.
   */
  public Optional<HostedVersion> reactivatePrevious(Duration drain) {
    HostedVersion old;
    synchronized (this) {
      if (draining == null || draining != previous || serving == null || !draining.model().reactivate()) {
        return Optional.empty();
      }
      old = serving;
      serving = draining;
      draining = old;
      previous = old;
    }
    log.info("rolled back to model {} version {} (still loaded)", serving().orElseThrow().model().name(),
        serving().orElseThrow().model().version());
    old.model().retire(drain, unloader, this::unloaded);
    return Optional.of(old);
  }

  private void unloaded(ServedModel m) {
    synchronized (this) {
      if (draining != null && draining.model() == m) {
        draining = null;
      }
    }
  }

  @Override
  public void close() {
    HostedVersion s;
    HostedVersion d;
    synchronized (this) {
      s = serving;
      d = draining;
      serving = null;
      draining = null;
    }
    readiness.accept(false);
    if (s != null) {
      s.model().close();
    }
    if (d != null) {
      d.model().close();
    }
  }
}
