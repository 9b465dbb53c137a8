package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * {@code reanswer:}: deferred re-answers. A request answered {@code edge-degraded} because the core
 * could not be used, that asked for it ({@code x-infermesh-reanswer: deferred}, gRPC hint {@code
 * reanswer}) or whose tenant is listed in {@code tenants}, is kept in a bounded on-disk queue under
 * {@code data_dir}, replayed to the core at low priority when it is back, and its answer served at
 * {@code GET /v1/infermesh/answers/{id}} (and POSTed to {@code webhook}, if set) for {@code ttl}.
 * Off by default ({@link #NONE}). Immutable.
 *
 * @param enabled whether requests may ask for a re-answer (asking while off is a 400)
 * @param dataDir where the queue's SQLite file ({@code reanswers.db}) lives; required when enabled
 * @param maxEntries the most deferrals held (queued and answered); a full queue refuses new ones
 * @param maxBytes the most bytes of requests and answers held
 * @param ttl how long an answer is kept after it arrived
 * @param replayTimeout the deadline of one replay call to the core
 * @param tenants tenants whose degraded answers are always deferred, without the header
 * @param webhook where answers are POSTed, if anywhere
 */
public record Reanswer(boolean enabled, Optional<Path> dataDir, int maxEntries, long maxBytes, Duration ttl,
    Duration replayTimeout, List<String> tenants, Optional<Webhook> webhook) {
  /** Re-answers off. */
  public static final Reanswer NONE = new Reanswer(false, Optional.empty(), 10_000, 256L << 20,
      Duration.ofDays(1), Duration.ofMinutes(2), List.of(), Optional.empty());

  public Reanswer {
    requireNonNull(dataDir, "reanswer.data_dir");
    if (enabled && dataDir.isEmpty()) {
      throw new ConfigException("reanswer.data_dir", "is required when reanswer.enabled is true");
    }
    if (maxEntries < 1) {
      throw new ConfigException("reanswer.max_entries", "must be at least 1, got " + maxEntries);
    }
    if (maxBytes < 4096) {
      throw new ConfigException("reanswer.max_bytes", "must be at least 4KiB, got " + maxBytes);
    }
    EdgeConfig.requirePositive("reanswer.ttl", ttl);
    EdgeConfig.requirePositive("reanswer.replay_timeout", replayTimeout);
    tenants = List.copyOf(tenants);
    requireNonNull(webhook, "reanswer.webhook");
    if (!enabled && (!tenants.isEmpty() || webhook.isPresent())) {
      throw new ConfigException("reanswer.enabled", "tenants or webhook are set, but reanswer.enabled is false");
    }
  }

  /**
   * {@code reanswer.webhook}: each answer is POSTed to {@code url} with {@code X-Infermesh-Signature:
   * sha256=HEX(HMAC-SHA256(secret, body))}, retried with exponential backoff up to {@code
   * maxAttempts} times.
   *
   * @param url an {@code http} or {@code https} URL
   * @param secret the HMAC key, at least 16 characters
   * @param maxAttempts the most deliveries tried per answer
   * @param backoff the wait after the first failure, doubled after each (capped at a minute)
   */
  public record Webhook(URI url, String secret, int maxAttempts, Duration backoff) {
    public Webhook {
      requireNonNull(url, "reanswer.webhook.url");
      String scheme = url.getScheme();
      if (!"http".equals(scheme) && !"https".equals(scheme) || url.getHost() == null) {
        throw new ConfigException("reanswer.webhook.url", "must be an http or https URL, got '" + url + "'");
      }
      requireNonNull(secret, "reanswer.webhook.secret");
      if (secret.length() < 16) {
        throw new ConfigException("reanswer.webhook.secret", "must be at least 16 characters");
      }
      if (maxAttempts < 1 || maxAttempts > 100) {
        throw new ConfigException("reanswer.webhook.max_attempts", "must be from 1 to 100, got " + maxAttempts);
      }
      EdgeConfig.requirePositive("reanswer.webhook.backoff", backoff);
    }

    @Override
    public String toString() {
      return "Webhook[url=" + url + ", secret=(hidden), maxAttempts=" + maxAttempts + ", backoff=" + backoff + "]";
    }
  }

  /** Re-answers kept under {@code dir}, every other key at its default. */
  public static Reanswer in(Path dir) {
    return NONE.toBuilder().enabled(true).dataDir(dir).build();
  }

  public Builder toBuilder() {
    return new Builder(this);
  }

  /** Assembles a {@link Reanswer} from another; not thread-safe. */
  public static final class Builder {
    private boolean enabled;
    private Optional<Path> dataDir;
    private int maxEntries;
    private long maxBytes;
    private Duration ttl;
    private Duration replayTimeout;
    private List<String> tenants;
    private Optional<Webhook> webhook;

    private Builder(Reanswer r) {
      enabled = r.enabled;
      dataDir = r.dataDir;
      maxEntries = r.maxEntries;
      maxBytes = r.maxBytes;
      ttl = r.ttl;
      replayTimeout = r.replayTimeout;
      tenants = r.tenants;
      webhook = r.webhook;
    }

    public Builder enabled(boolean on) {
      this.enabled = on;
      return this;
    }

    public Builder dataDir(Path dir) {
      this.dataDir = Optional.of(dir);
      return this;
    }

    public Builder maxEntries(int entries) {
      this.maxEntries = entries;
      return this;
    }

    public Builder maxBytes(long bytes) {
      this.maxBytes = bytes;
      return this;
    }

    public Builder ttl(Duration keep) {
      this.ttl = keep;
      return this;
    }

    public Builder replayTimeout(Duration timeout) {
      this.replayTimeout = timeout;
      return this;
    }

    public Builder tenants(List<String> names) {
      this.tenants = names;
      return this;
    }

    public Builder webhook(Webhook hook) {
      this.webhook = Optional.of(hook);
      return this;
    }

    /** @throws ConfigException naming the key that is out of range */
    public Reanswer build() {
      return new Reanswer(enabled, dataDir, maxEntries, maxBytes, ttl, replayTimeout, tenants, webhook);
    }
  }
}
