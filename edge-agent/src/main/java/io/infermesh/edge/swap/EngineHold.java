package io.infermesh.edge.swap;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.Engine;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One request's hold on the engine version it was opened on: the version stays loaded until every
 * hold on it is {@linkplain #release() released}, or its drain timeout passes and the holder is
 * told to stop ({@link #onExpiry}). Thread-safe; {@link #release()} is idempotent.
 */
public final class EngineHold {
  private final EngineVersions versions;
  private final EngineVersions.Loaded version;
  private final AtomicBoolean released = new AtomicBoolean();
  private volatile Runnable onExpiry = () -> {};
  private volatile boolean expired;

  EngineHold(EngineVersions versions, EngineVersions.Loaded version) {
    this.versions = requireNonNull(versions, "versions");
    this.version = requireNonNull(version, "version");
  }

  /** The engine this request runs on, for as long as the hold lasts. */
  public Engine engine() {
    return version.engine();
  }

  /** The version label the answer reports ({@code ServedBy.model_version}). */
  public String version() {
    return version.engine().info().version();
  }

  /**
   * Runs {@code action} (which must not block) when the version's drain timeout passes while this
   * hold lasts; at once when it passed already.
   */
  public void onExpiry(Runnable action) {
    requireNonNull(action, "action");
    onExpiry = action;
    if (expired) {
      action.run();
    }
  }

  /** Whether the version's drain timeout passed while this hold lasted. */
  public boolean expired() {
    return expired;
  }

  void expire() {
    expired = true;
    onExpiry.run();
  }

  /** Ends the hold; the last one on a replaced version unloads it. */
  public void release() {
    if (released.compareAndSet(false, true)) {
      versions.released(this, version);
    }
  }
}
