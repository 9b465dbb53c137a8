package io.infermesh.core.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.audit.AuditFsync;
import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The {@code audit:} section of {@code core.yaml}: whether the core writes one hash-chained audit
 * record per Generate and Embed call ({@link io.infermesh.node.audit.AuditLog}), where, and how it
 * rotates and syncs. Off by default. Built with {@link #builder()}.
 *
 * @param enabled whether the log is written
 * @param dir the log's directory (one writer per directory)
 * @param maxFileBytes a new file starts before one would pass this size
 * @param maxFileAge a new file starts when the current one's first record is this old
 * @param fsync when records are put on disk
 * @param fsyncInterval the period of {@code fsync: interval}
 */
public record Audit(boolean enabled, Path dir, long maxFileBytes, Duration maxFileAge, AuditFsync fsync,
    Duration fsyncInterval) {
  public static final long DEFAULT_MAX_FILE_BYTES = 64L * 1024 * 1024;
  public static final Duration DEFAULT_MAX_FILE_AGE = Duration.ofDays(1);
  public static final Duration DEFAULT_FSYNC_INTERVAL = Duration.ofSeconds(1);

  public Audit {
    requireNonNull(dir, "dir");
    requireNonNull(maxFileAge, "maxFileAge");
    requireNonNull(fsync, "fsync");
    requireNonNull(fsyncInterval, "fsyncInterval");
    if (maxFileBytes < 1) {
      throw new ConfigException("audit.max_file_size", "must be positive, got " + maxFileBytes);
    }
    if (maxFileAge.isNegative() || maxFileAge.isZero()) {
      throw new ConfigException("audit.max_file_age", "must be a positive duration, got " + maxFileAge);
    }
    if (fsyncInterval.isNegative() || fsyncInterval.isZero()) {
      throw new ConfigException("audit.fsync_interval", "must be a positive duration, got " + fsyncInterval);
    }
  }

  /** No audit log. */
  public static Audit off() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Not thread-safe; {@link #build()} validates. */
  public static final class Builder {
    private boolean enabled;
    private Path dir = Path.of("audit");
    private long maxFileBytes = DEFAULT_MAX_FILE_BYTES;
    private Duration maxFileAge = DEFAULT_MAX_FILE_AGE;
    private AuditFsync fsync = AuditFsync.INTERVAL;
    private Duration fsyncInterval = DEFAULT_FSYNC_INTERVAL;

    private Builder() {}

    /** Writes the log to {@code directory}. */
    public Builder enabled(Path directory) {
      this.enabled = true;
      this.dir = requireNonNull(directory, "directory");
      return this;
    }

    public Builder enabled(boolean on) {
      this.enabled = on;
      return this;
    }

    public Builder dir(Path directory) {
      this.dir = requireNonNull(directory, "directory");
      return this;
    }

    public Builder rotation(long bytes, Duration age) {
      this.maxFileBytes = bytes;
      this.maxFileAge = requireNonNull(age, "age");
      return this;
    }

    public Builder fsync(AuditFsync policy, Duration interval) {
      this.fsync = requireNonNull(policy, "policy");
      this.fsyncInterval = requireNonNull(interval, "interval");
      return this;
    }

    public Audit build() {
      return new Audit(enabled, dir, maxFileBytes, maxFileAge, fsync, fsyncInterval);
    }
  }
}
