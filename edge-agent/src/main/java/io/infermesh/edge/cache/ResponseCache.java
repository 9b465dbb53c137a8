package io.infermesh.edge.cache;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.Optional;

/**
 * Exact-match cache of finished answers to deterministic requests, bounded by approximate heap
 * bytes (a weigher) and by time since the answer was stored. Callers decide what is cacheable
 * (temperature 0 or a fixed seed, finished normally). Thread-safe.
 */
public final class ResponseCache {
  private final Cache<CacheKey, CachedCompletion> cache;
  private final long maxBytes;

  private ResponseCache(Cache<CacheKey, CachedCompletion> cache, long maxBytes) {
    this.cache = cache;
    this.maxBytes = maxBytes;
  }

  /**
   * A cache holding up to about {@code maxBytes} of answers for {@code ttl} each, timed by {@code
   * ticker}. A {@code maxBytes} of 0 makes a cache that keeps nothing.
   */
  public static ResponseCache create(long maxBytes, Duration ttl, Ticker ticker) {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("maxBytes must not be negative, got " + maxBytes);
    }
    requireNonNull(ttl, "ttl");
    requireNonNull(ticker, "ticker");
    Cache<CacheKey, CachedCompletion> cache = Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .weigher((CacheKey k, CachedCompletion v) -> (int) Math.min(Integer.MAX_VALUE, (long) k.weight() + v.weight()))
        .expireAfterWrite(ttl)
        .ticker(ticker)
        .executor(Runnable::run)
        .build();
    return new ResponseCache(cache, maxBytes);
  }

  /** The answer stored under {@code key}, if any. */
  public Optional<CachedCompletion> get(CacheKey key) {
    return Optional.ofNullable(cache.getIfPresent(key));
  }

  /** Stores {@code value} under {@code key}, evicting older answers when over the byte bound. */
  public void put(CacheKey key, CachedCompletion value) {
    if (maxBytes > 0) {
      cache.put(key, value);
    }
  }

  /** Answers held now (after pending evictions). */
  public long size() {
    cache.cleanUp();
    return cache.estimatedSize();
  }

  /** Approximate bytes held now. */
  public long weightedBytes() {
    cache.cleanUp();
    return cache.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
  }

  /** Drops every answer. */
  public void clear() {
    cache.invalidateAll();
  }
}
