package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * {@code batch:}: the OpenAI Files and Batch APIs ({@code /v1/files}, {@code /v1/batches}) with
 * their durable store, and the workers that run batch lines at low priority on capacity
 * interactive requests leave idle. Off by default ({@link #NONE}). Immutable.
 *
 * @param enabled whether the APIs are served and the workers run
 * @param store {@code sqlite} (embedded, one node, files under {@code dataDir}) or {@code
 *     postgresql} (several nodes sharing one queue)
 * @param dataDir where the SQLite database lives ({@code batches.db}); needed for {@code sqlite}
 * @param jdbcUrl the PostgreSQL URL ({@code jdbc:postgresql://host:port/db}); needed for {@code postgresql}
 * @param user the PostgreSQL user; empty: the URL's
 * @param password the PostgreSQL password; empty: none
 * @param concurrency batch lines running at once on this node
 * @param maxFileBytes the largest file {@code POST /v1/files} accepts
 * @param maxLines the most request lines one batch may hold
 * @param completionWindow how long a batch may run before it expires (OpenAI's {@code 24h})
 * @param lease how long a worker holds a line it claimed before another worker may take it over
 *     (a worker that died); longer than a line takes
 */
public record Batches(boolean enabled, Store store, Optional<Path> dataDir, String jdbcUrl, String user,
    String password, int concurrency, long maxFileBytes, int maxLines, Duration completionWindow, Duration lease) {
  /** Which store holds files, batches and lines. */
  public enum Store {
    SQLITE, POSTGRESQL;

    /** The store named {@code name} in edge.yaml. */
    public static Store parse(String key, String name) {
      return switch (name) {
        case "sqlite" -> SQLITE;
        case "postgresql" -> POSTGRESQL;
        default -> throw new ConfigException(key, "must be sqlite or postgresql, got '" + name + "'");
      };
    }
  }

  /** Off. */
  public static final Batches NONE = new Batches(false, Store.SQLITE, Optional.empty(), "", "", "", 2, 100L << 20,
      50_000, Duration.ofHours(24), Duration.ofMinutes(5));

  public Batches {
    requireNonNull(store, "batch.store");
    requireNonNull(dataDir, "batch.data_dir");
    requireNonNull(jdbcUrl, "batch.jdbc_url");
    requireNonNull(user, "batch.user");
    requireNonNull(password, "batch.password");
    if (concurrency < 1 || concurrency > 256) {
      throw new ConfigException("batch.concurrency", "must be 1 to 256, got " + concurrency);
    }
    if (maxFileBytes < 1024) {
      throw new ConfigException("batch.max_file_bytes", "must be at least 1KiB, got " + maxFileBytes);
    }
    if (maxLines < 1) {
      throw new ConfigException("batch.max_lines", "must be at least 1, got " + maxLines);
    }
    EdgeConfig.requirePositive("batch.completion_window", completionWindow);
    EdgeConfig.requirePositive("batch.lease", lease);
    if (enabled && store == Store.SQLITE && dataDir.isEmpty()) {
      throw new ConfigException("batch.data_dir", "not set: the sqlite store needs a directory for batches.db");
    }
    if (enabled && store == Store.POSTGRESQL && !jdbcUrl.startsWith("jdbc:postgresql:")) {
      throw new ConfigException("batch.jdbc_url", "must be a jdbc:postgresql: URL for store postgresql, got '"
          + jdbcUrl + "'");
    }
  }

  /** This section, on, with the SQLite store in {@code dir}. */
  public Batches withSqlite(Path dir) {
    return new Batches(true, Store.SQLITE, Optional.of(dir), jdbcUrl, user, password, concurrency, maxFileBytes,
        maxLines, completionWindow, lease);
  }

  /** This section with {@code n} workers. */
  public Batches withConcurrency(int n) {
    return new Batches(enabled, store, dataDir, jdbcUrl, user, password, n, maxFileBytes, maxLines, completionWindow,
        lease);
  }

  @Override
  public String toString() {
    return "Batches[enabled=" + enabled + ", store=" + store + ", dataDir=" + dataDir + ", jdbcUrl=" + jdbcUrl
        + ", user=" + user + ", password=" + (password.isEmpty() ? "" : "***") + ", concurrency=" + concurrency
        + ", maxFileBytes=" + maxFileBytes + ", maxLines=" + maxLines + ", completionWindow=" + completionWindow
        + ", lease=" + lease + "]";
  }
}
