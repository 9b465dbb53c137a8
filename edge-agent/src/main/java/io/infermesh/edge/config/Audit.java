package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.audit.AuditFsync;
import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * {@code audit:}: where the edge writes one hash-chained JSON line per request decision (node's
 * {@code AuditLog}; {@code infermesh audit verify DIR} checks the chain). Off by default ({@link
 * #NONE}: no directory). Immutable.
 *
 * @param directory where the {@code audit-NNNNNN.jsonl} files go; empty: no audit log
 * @param maxFileBytes a new file starts before a record would take the current one past this
 * @param maxFileAge a new file starts when the current one's first record is this old
 * @param fsync when records are forced to disk: {@code every_record}, {@code interval} or {@code never}
 * @param fsyncInterval how often, for {@code interval}
 */
public record Audit(Optional<Path> directory, long maxFileBytes, Duration maxFileAge, AuditFsync fsync,
    Duration fsyncInterval) {
  /** No audit log. */
  public static final Audit NONE = new Audit(Optional.empty(), 64L << 20, Duration.ofDays(1), AuditFsync.INTERVAL,
      Duration.ofSeconds(1));

  public Audit {
    requireNonNull(directory, "audit.directory");
    if (maxFileBytes < 4096) {
      throw new ConfigException("audit.max_file_bytes", "must be at least 4KiB, got " + maxFileBytes);
    }
    EdgeConfig.requirePositive("audit.max_file_age", maxFileAge);
    requireNonNull(fsync, "audit.fsync");
    EdgeConfig.requirePositive("audit.fsync_interval", fsyncInterval);
  }

  /** Whether records are written. */
  public boolean enabled() {
    return directory.isPresent();
  }

  /** This section writing to {@code dir}. */
  public Audit withDirectory(Path dir) {
    return new Audit(Optional.of(dir), maxFileBytes, maxFileAge, fsync, fsyncInterval);
  }
}
