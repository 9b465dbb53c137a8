package io.infermesh.edge.auth.jwt;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import io.infermesh.node.config.Durations;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The signing keys tokens are checked against, from a {@link JwksSource}: loaded once at {@link
 * Builder#start()} (which fails if it cannot), refreshed every {@code refreshInterval} on the
 * injected scheduler, and on demand when a token names a {@code kid} the set does not hold — at most
 * once per {@code unknownKidInterval}, so that tokens with made-up kids cannot make the edge hammer
 * its identity provider. A failed refresh is logged and the last good keys stay; the periodic
 * refresh never stops because one failed.
 *
 * <p>Thread-safe: the key set is swapped whole (readers never lock); refreshes are serialized by one
 * lock, and an on-demand refresh that waited for another first checks whether the kid arrived.
 */
public final class JwksCache implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(JwksCache.class);

  private final JwksSource source;
  private final long unknownKidIntervalNanos;
  private final LongSupplier ticker;
  private final Object refreshLock = new Object();
  private volatile JWKSet keys;
  @GuardedBy("refreshLock")
  private long lastOnDemandNanos;
  @GuardedBy("refreshLock")
  private boolean onDemandYet;
  private final ScheduledFuture<?> periodic;

  private JwksCache(Builder b) throws IOException {
    this.source = b.source;
    this.unknownKidIntervalNanos = b.unknownKidInterval.toNanos();
    this.ticker = b.ticker;
    this.keys = source.fetch();
    long period = b.refreshInterval.toNanos();
    this.periodic = b.scheduler.scheduleWithFixedDelay(this::refreshQuietly, period, period, TimeUnit.NANOSECONDS);
  }

  public static Builder builder(JwksSource source) {
    return new Builder(source);
  }

  /** The current key set. */
  public JWKSet keys() {
    return keys;
  }

  /** The key with {@code kid}, if the current set holds it. */
  public Optional<JWK> key(String kid) {
    return Optional.ofNullable(keys.getKeyByKeyId(requireNonNull(kid, "kid")));
  }

  /**
   * The key with {@code kid}, refreshing the set first if it lacks it and no on-demand refresh ran
   * in the last {@code unknownKidInterval}. Blocks for the fetch (bounded by the source's timeout).
   */
  public Optional<JWK> keyRefreshingIfUnknown(String kid) {
    Optional<JWK> known = key(kid);
    if (known.isPresent()) {
      return known;
    }
    synchronized (refreshLock) {
      known = key(kid); // a refresh we waited for may have brought it
      if (known.isPresent()) {
        return known;
      }
      long now = ticker.getAsLong();
      if (onDemandYet && now - lastOnDemandNanos < unknownKidIntervalNanos) {
        return Optional.empty();
      }
      onDemandYet = true;
      lastOnDemandNanos = now;
      refreshLocked("unknown kid");
    }
    return key(kid);
  }

  private void refreshQuietly() {
    try {
      synchronized (refreshLock) {
        refreshLocked("scheduled");
      }
    } catch (RuntimeException e) {
      log.warn("JWKS refresh failed unexpectedly; keeping the last good keys", e);
    }
  }

  @GuardedBy("refreshLock")
  private void refreshLocked(String why) {
    try {
      JWKSet fresh = source.fetch();
      keys = fresh;
      log.debug("JWKS refreshed ({}): {} keys", why, fresh.size());
    } catch (IOException e) {
      log.warn("JWKS refresh ({}) failed, keeping the last good {} keys: {}", why, keys.size(), e.getMessage());
    }
  }

  /** Stops the periodic refresh. */
  @Override
  public void close() {
    periodic.cancel(false);
  }

  /** Not thread-safe; build once. */
  public static final class Builder {
    private final JwksSource source;
    private Duration refreshInterval = Duration.ofMinutes(5);
    private Duration unknownKidInterval = Duration.ofSeconds(30);
    private ScheduledExecutorService scheduler;
    private LongSupplier ticker = System::nanoTime;

    private Builder(JwksSource source) {
      this.source = requireNonNull(source, "source");
    }

    /** How often the set is re-read (default 5 min). */
    public Builder refreshInterval(Duration interval) {
      this.refreshInterval = Durations.requirePositive(interval, "refresh interval");
      return this;
    }

    /** The least time between two refreshes caused by unknown kids (default 30 s). */
    public Builder unknownKidInterval(Duration interval) {
      this.unknownKidInterval = Durations.requirePositive(interval, "unknown kid interval");
      return this;
    }

    /** Runs the periodic refresh; required. Not shut down by the cache. */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Monotonic nanoseconds for the unknown-kid rate limit (default {@code System::nanoTime}). */
    public Builder ticker(LongSupplier ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
      return this;
    }

    /** Loads the keys and schedules refreshes. */
    public JwksCache start() throws IOException {
      requireNonNull(scheduler, "scheduler must be set");
      return new JwksCache(this);
    }
  }
}
