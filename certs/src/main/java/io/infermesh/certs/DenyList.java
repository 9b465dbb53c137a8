package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Revoked mesh identities: a text file, one entry a line, that the signer (refusing to renew) and
 * every server's authorization ({@link RoleAuthorizationInterceptor}: refusing to serve) consult.
 *
 * <pre>
 * # revoked 2026-12-07: device stolen
 * spiffe://mesh.local/eu-west/edge/edge-7
 * # one certificate only (its hex serial, colons allowed), not the identity
 * serial:4f:2a:91:0c:77:...
 * </pre>
 *
 * <p>A SPIFFE ID denies every certificate of that identity, past and future; a serial denies one
 * certificate. Blank lines and {@code #} comments are ignored; any other line makes the whole
 * version invalid. The file is re-read every {@linkplain #watching refresh period} and a changed
 * version replaces the previous one; a version that cannot be read or parsed is logged and the
 * previous entries stay in force (a deny list never silently empties). At most {@value
 * #MAX_BYTES} bytes.
 *
 * <p>Thread-safe: the entries are an immutable snapshot behind a volatile field, so a check on the
 * call path takes no lock; reloading is serialized on this object.
 */
public final class DenyList implements AutoCloseable {
  /** How often the file is re-read when no period is given. */
  public static final Duration DEFAULT_REFRESH_PERIOD = Duration.ofSeconds(5);
  /** The largest deny list accepted. */
  public static final int MAX_BYTES = 4 * 1024 * 1024;

  private static final Logger log = LoggerFactory.getLogger(DenyList.class);
  private static final String SERIAL_PREFIX = "serial:";
  private static final Pattern HEX_SERIAL = Pattern.compile("[0-9a-f]{1,80}");
  private static final DenyList EMPTY = new DenyList(null, new Entries(Set.of(), Set.of()), new byte[0], null);

  /** One parsed version of the file. */
  private record Entries(Set<SpiffeId> ids, Set<BigInteger> serials) {}

  private final Path file;
  private final ScheduledExecutorService executor; // null for the empty list
  private volatile Entries entries;
  @GuardedBy("this")
  private byte[] lastContent;
  @GuardedBy("this")
  private String lastProblem;

  private DenyList(Path file, Entries entries, byte[] content, Duration refreshPeriod) {
    this.file = file;
    this.entries = entries;
    synchronized (this) {
      this.lastContent = content;
    }
    if (refreshPeriod == null) {
      this.executor = null;
      return;
    }
    ScheduledThreadPoolExecutor refresher = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread thread = new Thread(runnable, "infermesh-deny-list-refresh");
      thread.setDaemon(true);
      return thread;
    });
    this.executor = refresher;
    long nanos = refreshPeriod.toNanos();
    refresher.scheduleWithFixedDelay(this::refresh, nanos, nanos, TimeUnit.NANOSECONDS);
  }

  /** A deny list that denies nobody (no file). */
  public static DenyList empty() {
    return EMPTY;
  }

  /**
   * Reads {@code file} now (failing fast when it is missing or malformed) and re-reads it every
   * {@code refreshPeriod} on a daemon thread that {@link #close()} stops.
   *
   * @throws IOException naming the file and the line when it cannot be read or parsed
   */
  public static DenyList watching(Path file, Duration refreshPeriod) throws IOException {
    requireNonNull(file, "file");
    Durations.requirePositive(refreshPeriod, "refresh period");
    byte[] content = read(file);
    DenyList list = new DenyList(file, parse(file, content), content, refreshPeriod);
    Entries loaded = list.entries;
    log.info("deny list {}: {} identities and {} certificate serials revoked", file, loaded.ids().size(),
        loaded.serials().size());
    return list;
  }

  /** Re-reads the file now; what the periodic refresh does. Never throws: a problem is logged. */
  public synchronized void refresh() {
    if (file == null) {
      return;
    }
    try {
      byte[] content = read(file);
      if (Arrays.equals(content, lastContent)) {
        return;
      }
      Entries parsed = parse(file, content);
      entries = parsed;
      lastContent = content;
      lastProblem = null;
      log.info("reloaded deny list {}: {} identities and {} certificate serials revoked", file,
          parsed.ids().size(), parsed.serials().size());
    } catch (IOException | RuntimeException e) {
      String problem = e.getMessage();
      if (!Objects.equals(problem, lastProblem)) {
        log.warn("cannot reload the deny list, keeping the previous entries (will retry): {}", problem);
        lastProblem = problem;
      }
    }
  }

  /**
   * Why {@code certificate} (a leaf carrying {@code id}) is revoked, or empty when it is not: its
   * identity or its serial is listed.
   */
  public Optional<String> revocation(SpiffeId id, X509Certificate certificate) {
    requireNonNull(id, "id");
    requireNonNull(certificate, "certificate");
    Entries current = entries;
    if (current.ids().contains(id)) {
      return Optional.of("identity " + id + " is revoked");
    }
    BigInteger serial = certificate.getSerialNumber();
    if (current.serials().contains(serial)) {
      return Optional.of("certificate " + serial.toString(16) + " of " + id + " is revoked");
    }
    return Optional.empty();
  }

  /** Whether {@code id} itself (every certificate of it) is revoked. */
  public boolean denies(SpiffeId id) {
    return entries.ids().contains(requireNonNull(id, "id"));
  }

  /** Stops re-reading the file. Idempotent; the last entries stay in force. */
  @Override
  public void close() {
    if (executor != null) {
      executor.shutdownNow();
    }
  }

  @Override
  public String toString() {
    Entries current = entries;
    return "DenyList{" + (file == null ? "empty" : file) + ", ids=" + current.ids().size() + ", serials="
        + current.serials().size() + "}";
  }

  private static byte[] read(Path file) throws IOException {
    byte[] content = PemFiles.read(file);
    if (content.length > MAX_BYTES) {
      throw new IOException(file + ": is " + content.length + " bytes; a deny list holds at most " + MAX_BYTES);
    }
    return content;
  }

  private static Entries parse(Path file, byte[] content) throws IOException {
    Set<SpiffeId> ids = new HashSet<>();
    Set<BigInteger> serials = new HashSet<>();
    String[] lines = new String(content, StandardCharsets.UTF_8).split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = file + ":" + (i + 1) + ": ";
      if (line.startsWith(SpiffeId.SCHEME + "://")) {
        try {
          ids.add(SpiffeId.parse(line));
        } catch (IllegalArgumentException e) {
          throw new IOException(where + e.getMessage(), e);
        }
      } else if (line.toLowerCase(Locale.ROOT).startsWith(SERIAL_PREFIX)) {
        String hex = line.substring(SERIAL_PREFIX.length()).strip().replace(":", "").toLowerCase(Locale.ROOT);
        if (!HEX_SERIAL.matcher(hex).matches()) {
          throw new IOException(where + "'" + line + "' is not a hex certificate serial (serial:4f:2a:...)");
        }
        serials.add(new BigInteger(hex, 16));
      } else {
        throw new IOException(where + "'" + line + "' is neither a SPIFFE ID (spiffe://...) nor"
            + " 'serial:<hex>'");
      }
    }
    return new Entries(Set.copyOf(ids), Set.copyOf(serials));
  }
}
