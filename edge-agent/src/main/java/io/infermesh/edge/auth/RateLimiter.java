package io.infermesh.edge.auth;

import static java.util.Objects.requireNonNull;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.LongSupplier;

/**
 * Per-tenant limits on requests and tokens per minute, as Bucket4j token buckets that refill
 * greedily (a tenant may burst up to a minute's allowance).
 *
 * <p>Requests are counted when admitted. Tokens are counted when a generation ends, as its prompt
 * plus completion tokens, so a request is admitted while the tenant's token bucket is not in debt
 * and a large answer can drive it into debt that later requests wait out. Time comes from an
 * injected nanosecond source. Thread-safe.
 */
public final class RateLimiter {
  private final TimeMeter time;
  private final ConcurrentMap<String, Bucket> requestBuckets = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Bucket> tokenBuckets = new ConcurrentHashMap<>();

  private RateLimiter(TimeMeter time) {
    this.time = time;
  }

  /** A limiter timed by {@code nanoTime} (e.g. {@code System::nanoTime}, or a fake in tests). */
  public static RateLimiter create(LongSupplier nanoTime) {
    requireNonNull(nanoTime, "nanoTime");
    return new RateLimiter(new TimeMeter() {
      @Override
      public long currentTimeNanos() {
        return nanoTime.getAsLong();
      }

      @Override
      public boolean isWallClockBased() {
        return false;
      }
    });
  }

  /**
   * Counts one request of {@code tenant}.
   *
   * @return empty when admitted; otherwise how long to wait before the next request fits
   */
  public Optional<Duration> tryAcquireRequest(Tenant tenant) {
    if (tenant.requestsPerMinute() == 0) {
      return Optional.empty();
    }
    Bucket bucket = requestBuckets.computeIfAbsent(tenant.name(), n -> bucket(tenant.requestsPerMinute()));
    ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
    return probe.isConsumed() ? Optional.empty() : Optional.of(Duration.ofNanos(probe.getNanosToWaitForRefill()));
  }

  /**
   * Whether {@code tenant} may start a request under its token limit.
   *
   * @return empty when it may; otherwise how long until its token bucket is out of debt
   */
  public Optional<Duration> checkTokens(Tenant tenant) {
    if (tenant.tokensPerMinute() == 0) {
      return Optional.empty();
    }
    Bucket bucket = tokenBuckets.computeIfAbsent(tenant.name(), n -> bucket(tenant.tokensPerMinute()));
    var estimate = bucket.estimateAbilityToConsume(1);
    return estimate.canBeConsumed() ? Optional.empty() : Optional.of(Duration.ofNanos(estimate.getNanosToWaitForRefill()));
  }

  /** Counts {@code tokens} used by {@code tenant}, going into debt if need be. */
  public void recordTokens(Tenant tenant, long tokens) {
    if (tenant.tokensPerMinute() == 0 || tokens <= 0) {
      return;
    }
    tokenBuckets.computeIfAbsent(tenant.name(), n -> bucket(tenant.tokensPerMinute())).consumeIgnoringRateLimits(tokens);
  }

  private Bucket bucket(long perMinute) {
    return Bucket.builder()
        .addLimit(limit -> limit.capacity(perMinute).refillGreedy(perMinute, Duration.ofMinutes(1)))
        .withCustomTimePrecision(time)
        .build();
  }
}
