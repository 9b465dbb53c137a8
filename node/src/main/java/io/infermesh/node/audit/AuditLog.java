package io.infermesh.node.audit;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.node.config.Durations;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends {@link AuditRecord}s as JSON lines to {@code audit-NNNNNN.jsonl} files in one directory,
 * each line ending with {@code "prev"}: the SHA-256 (hex) of the line before it, the previous file's
 * last line for a file's first record, and {@link #GENESIS} for the first record of all.
 *
 * <p><b>Rotation.</b> A new file starts before a record that would take the current one past {@code
 * maxFileBytes}, or when the current one's first record is {@code maxFileAge} old.
 *
 * <p><b>Durability.</b> A record goes to the OS in one {@code write} before {@link #append} returns;
 * nothing is buffered in the process, so {@code kill -9} loses no appended record. {@link AuditFsync}
 * says when the OS is told to put it on disk. On {@link #open}, the newest file's tail is read: a last
 * line without its newline (a crash in the middle of a write) is moved to {@code audit-NNNNNN.jsonl.torn},
 * logged, reported by {@link #recovery()}, and the chain continues from the last complete line.
 *
 * <p><b>Threads.</b> Thread-safe: appends, rotation and the periodic {@code fsync} (on the injected
 * scheduler) take one lock, so lines never interleave and the chain follows the order of appends. One
 * {@code AuditLog} per directory: two writers, in one process or two, would fork the chain.
 */
public final class AuditLog implements Closeable {
  /** The {@code prev} of the first record of a log. */
  public static final String GENESIS = AuditChain.GENESIS;

  private static final Logger log = LoggerFactory.getLogger(AuditLog.class);

  /** What {@link #open} found: the file it continues, a torn tail it set aside (0 bytes if none), and the head. */
  public record Recovery(Optional<Path> file, long tornBytes, String head) {}

  private final Path dir;
  private final long maxFileBytes;
  private final Duration maxFileAge;
  private final AuditFsync fsync;
  private final Clock clock;
  private final Recovery recovery;
  private final Object lock = new Object();
  @GuardedBy("lock")
  private FileChannel channel;
  @GuardedBy("lock")
  private long sequence;
  @GuardedBy("lock")
  private long size;
  @GuardedBy("lock")
  private Instant fileStart; // time of the current file's first record; null while it is empty
  @GuardedBy("lock")
  private String head;
  @GuardedBy("lock")
  private boolean dirty;
  @GuardedBy("lock")
  private boolean closed;
  private final ScheduledFuture<?> syncTask;

  private AuditLog(Builder b) throws IOException {
    this.dir = b.dir;
    this.maxFileBytes = b.maxFileBytes;
    this.maxFileAge = b.maxFileAge;
    this.fsync = b.fsync;
    this.clock = b.clock;
    Files.createDirectories(dir);
    synchronized (lock) {
      try {
        this.recovery = recover();
      } catch (IOException | RuntimeException e) {
        if (channel != null) {
          channel.close();
        }
        throw e;
      }
    }
    this.syncTask = fsync == AuditFsync.INTERVAL
        ? requireNonNull(b.scheduler, "scheduler (needed by fsync: interval)").scheduleWithFixedDelay(
            this::syncIfDirty, b.fsyncInterval.toNanos(), b.fsyncInterval.toNanos(), TimeUnit.NANOSECONDS)
        : null;
  }

  /** A builder for the log in {@code dir}. */
  public static Builder builder(Path dir) {
    return new Builder(dir);
  }

  /** What opening found. */
  public Recovery recovery() {
    return recovery;
  }

  /** The hash of the last line written: publish it elsewhere to make cutting the log's end detectable. */
  public String head() {
    synchronized (lock) {
      return head;
    }
  }

  /**
   * Appends {@code record}; returns the hash of its line (the next record's {@code prev}).
   *
   * @throws UncheckedIOException when the write fails; the file is cut back to its last whole line
   */
  public String append(AuditRecord record) {
    requireNonNull(record, "record");
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("audit log " + dir + " is closed");
      }
      try {
        byte[] line = AuditLines.line(record, head);
        Instant now = clock.instant();
        if (fileStart != null && (size + line.length > maxFileBytes
            || !now.isBefore(fileStart.plus(maxFileAge)))) {
          rotate();
        }
        write(line);
        if (fileStart == null) {
          fileStart = now;
        }
        head = AuditChain.hash(line, 0, line.length - 1);
        if (fsync == AuditFsync.EVERY_RECORD) {
          channel.force(false);
        } else {
          dirty = true;
        }
        return head;
      } catch (IOException e) {
        throw new UncheckedIOException("could not append to the audit log in " + dir + ": " + e.getMessage(), e);
      }
    }
  }

  @GuardedBy("lock")
  private void write(byte[] line) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(line);
    try {
      while (buf.hasRemaining()) {
        channel.write(buf);
      }
      size += line.length;
    } catch (IOException e) {
      try {
        channel.truncate(size); // no half line for the next record to follow
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  @GuardedBy("lock")
  private void rotate() throws IOException {
    channel.force(false); // the old file's end is on disk before the new file links to it
    channel.close();
    sequence++;
    openFile(sequence);
    fileStart = null;
  }

  @GuardedBy("lock")
  private void openFile(long seq) throws IOException {
    channel = FileChannel.open(AuditFiles.name(dir, seq), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.READ);
    size = channel.size();
    channel.position(size);
  }

  private void syncIfDirty() {
    synchronized (lock) {
      if (!dirty || closed) {
        return;
      }
      try {
        channel.force(false);
        dirty = false;
      } catch (IOException e) {
        log.warn("audit log {}: fsync failed, will retry: {}", dir, e.toString());
      }
    }
  }

  @GuardedBy("lock")
  private Recovery recover() throws IOException {
    List<Path> files = AuditFiles.list(dir);
    head = GENESIS;
    if (files.isEmpty()) {
      sequence = 1;
      openFile(sequence);
      return new Recovery(Optional.empty(), 0, head);
    }
    Path newest = files.get(files.size() - 1);
    sequence = AuditFiles.sequence(newest);
    openFile(sequence);
    long torn = 0;
    long lastNewline = AuditFiles.lastNewline(channel, size);
    if (lastNewline != size - 1) {
      torn = size - lastNewline - 1;
      AuditFiles.setAside(newest, lastNewline + 1, torn);
      channel.truncate(lastNewline + 1);
      channel.force(false);
      size = lastNewline + 1;
      channel.position(size);
      log.warn("audit log {}: the last line of {} was torn ({} bytes without a newline, a crash while writing);"
          + " moved to {}.torn, the chain continues from the last complete line", dir, newest.getFileName(), torn,
          newest.getFileName());
    }
    if (size > 0) {
      fileStart = AuditFiles.firstRecordTime(channel, size).orElseGet(() -> {
        log.warn("audit log {}: the current file's first record has no readable time; its age counts from now", dir);
        return clock.instant();
      });
    }
    for (int i = files.size() - 1; i >= 0; i--) {
      Optional<String> last = AuditFiles.lastLineHash(files.get(i));
      if (last.isPresent()) {
        head = last.get();
        break;
      }
    }
    return new Recovery(Optional.of(newest), torn, head);
  }

  /** Stops the periodic fsync, puts what was written on disk (unless {@code never}) and closes the file. */
  @Override
  public void close() throws IOException {
    if (syncTask != null) {
      syncTask.cancel(false);
    }
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (fsync != AuditFsync.NEVER) {
        channel.force(false);
      }
      channel.close();
    }
  }

  /** Not thread-safe; build once. */
  public static final class Builder {
    private final Path dir;
    private long maxFileBytes = 64L * 1024 * 1024;
    private Duration maxFileAge = Duration.ofDays(1);
    private AuditFsync fsync = AuditFsync.INTERVAL;
    private Duration fsyncInterval = Duration.ofSeconds(1);
    private Clock clock = Clock.systemUTC();
    private ScheduledExecutorService scheduler;

    private Builder(Path dir) {
      this.dir = requireNonNull(dir, "dir");
    }

    /** Start a new file before one would pass this size (default 64 MiB); a single larger record still fits. */
    public Builder maxFileBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("max file bytes must be positive, got " + bytes);
      }
      this.maxFileBytes = bytes;
      return this;
    }

    /** Start a new file when the current one's first record is this old (default 1 day). */
    public Builder maxFileAge(Duration age) {
      this.maxFileAge = Durations.requirePositive(age, "max file age");
      return this;
    }

    /** When to fsync (default {@code interval}). */
    public Builder fsync(AuditFsync fsync) {
      this.fsync = requireNonNull(fsync, "fsync");
      return this;
    }

    /** The interval of {@code fsync: interval} (default 1 s). */
    public Builder fsyncInterval(Duration interval) {
      this.fsyncInterval = Durations.requirePositive(interval, "fsync interval");
      return this;
    }

    /** The clock for file age (default UTC system clock); records carry their own time. */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** Runs the periodic fsync of {@code fsync: interval}; required for it. Not shut down by the log. */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Opens the log, recovering the chain's head from the newest file. */
    public AuditLog open() throws IOException {
      return new AuditLog(this);
    }
  }
}
