package io.infermesh.core.upstream;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls the upstream's health endpoint ({@code /v1/models} by default: every OpenAI-compatible
 * server answers it) every {@code interval}; {@code listener} hears each change, starting from
 * unhealthy. A failed probe is logged on the change and the poll goes on. Thread-safe.
 */
public final class UpstreamHealth implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(UpstreamHealth.class);

  private final OpenAiUpstream upstream;
  private final String path;
  private final Duration interval;
  private final ScheduledExecutorService timers;
  private final Consumer<Boolean> listener;
  private volatile boolean healthy;
  private volatile boolean closed;
  private volatile ScheduledFuture<?> next;

  private UpstreamHealth(OpenAiUpstream upstream, String path, Duration interval, ScheduledExecutorService timers,
      Consumer<Boolean> listener) {
    this.upstream = upstream;
    this.path = path;
    this.interval = interval;
    this.timers = timers;
    this.listener = listener;
  }

  /** Starts polling at once. */
  public static UpstreamHealth start(OpenAiUpstream upstream, String path, Duration interval,
      ScheduledExecutorService timers, Consumer<Boolean> listener) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("health interval must be positive, got " + interval);
    }
    UpstreamHealth h = new UpstreamHealth(Objects.requireNonNull(upstream, "upstream"), path, interval,
        Objects.requireNonNull(timers, "timers"), Objects.requireNonNull(listener, "listener"));
    h.poll();
    return h;
  }

  /** The last probe's outcome. */
  public boolean healthy() {
    return healthy;
  }

  private void poll() {
    if (closed) {
      return;
    }
    upstream.probe(path, interval.multipliedBy(2).plusSeconds(1)).thenAccept(ok -> {
      if (ok != healthy) {
        healthy = ok;
        if (ok) {
          log.info("upstream {} is healthy ({} answers)", upstream.base(), path);
        } else {
          log.warn("upstream {} is unhealthy ({} does not answer 2xx)", upstream.base(), path);
        }
        listener.accept(ok);
      }
      try {
        if (!closed) {
          next = timers.schedule(this::poll, interval.toMillis(), TimeUnit.MILLISECONDS);
        }
      } catch (RejectedExecutionException e) {
        log.debug("upstream health polling stopped: timers shut down");
      }
    });
  }

  @Override
  public void close() {
    closed = true;
    ScheduledFuture<?> n = next;
    if (n != null) {
      n.cancel(false);
    }
  }
}
