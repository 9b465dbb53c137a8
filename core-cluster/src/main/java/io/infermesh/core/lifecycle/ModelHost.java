package io.infermesh.core.lifecycle;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model a node serves now. A hot swap loads the new version beside the old one, switches new
 * requests to it atomically, waits for the old one's requests to finish, then frees it: no
 * request is dropped. Thread-safe.
 */
public final class ModelHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelHost.class);

  private final AtomicReference<ServedModel> current = new AtomicReference<>();
  private final Consumer<Boolean> readiness;

  /** {@code readiness} hears true once a model serves, false when none does (e.g. to flip health). */
  public ModelHost(Consumer<Boolean> readiness) {
    this.readiness = readiness;
  }

  /** The model serving new requests, if one is loaded. */
  public Optional<ServedModel> current() {
    return Optional.ofNullable(current.get());
  }

  /**
   * Makes {@code next} serve new requests, then drains and closes the previous model (waiting up to
   * {@code drain} for its requests; the rest fail as UNAVAILABLE so clients retry).
   */
  public void swap(ServedModel next, Duration drain) {
    ServedModel previous = current.getAndSet(next);
    readiness.accept(true);
    log.info("serving model {} version {} on {}", next.name(), next.version(), next.device());
    if (previous != null) {
      drainAndClose(previous, drain);
    }
  }

  private static void drainAndClose(ServedModel old, Duration drain) {
    long deadline = System.nanoTime() + drain.toNanos();
    while ((old.inFlight() > 0 || old.loop().busy()) && System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    log.info("closing model {} version {} ({} requests still in flight)", old.name(), old.version(), old.inFlight());
    old.close();
  }

  @Override
  public void close() {
    ServedModel m = current.getAndSet(null);
    readiness.accept(false);
    if (m != null) {
      m.close();
    }
  }
}
