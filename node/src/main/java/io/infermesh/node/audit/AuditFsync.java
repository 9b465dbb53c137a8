package io.infermesh.node.audit;

import static java.util.Objects.requireNonNull;

/**
 * When {@link AuditLog} asks the OS to put written records on disk ({@code fsync}). Every record is
 * handed to the OS in one {@code write} as it is appended (no buffer in the process), so a killed
 * process ({@code kill -9}) loses nothing whatever the policy; the policy decides what a power loss or
 * kernel crash can take: nothing, up to one interval, or whatever the OS had not yet written.
 */
public enum AuditFsync {
  /** {@code fsync} after every record: nothing lost, one disk flush per request. */
  EVERY_RECORD,
  /** {@code fsync} at most once per interval (default 1 s) when something was written: the default. */
  INTERVAL,
  /** Never; the OS writes back when it likes (Linux: within ~30 s). */
  NEVER;

  /** Parses the config spelling: {@code every_record}, {@code interval}, {@code never}. */
  public static AuditFsync parse(String value) {
    return switch (requireNonNull(value, "value")) {
      case "every_record" -> EVERY_RECORD;
      case "interval" -> INTERVAL;
      case "never" -> NEVER;
      default -> throw new IllegalArgumentException(
          "unknown fsync policy '" + value + "': use every_record, interval or never");
    };
  }
}
