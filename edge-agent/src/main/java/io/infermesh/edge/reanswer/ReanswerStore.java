package io.infermesh.edge.reanswer;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.edge.serve.Deferral;
import io.infermesh.edge.serve.Deferrals;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The re-answer queue on disk: one SQLite file ({@value #FILE}) in WAL mode with {@code
 * synchronous=FULL}, so each commit is on disk before it returns — a deferral's id is never told
 * to a client before its request is durable, and an answer stored is never lost to a crash.
 *
 * <p>Rows move {@code pending → answered | failed} exactly once ({@link #answer} updates only a
 * pending row), whatever number of times the request was sent. Capacity ({@code max_entries}, {@code
 * max_bytes}) counts every row held, pending or answered, and is checked when a deferral arrives: a
 * full queue refuses the new one and never drops an old one; answered rows leave after {@code ttl}
 * ({@link #expire}). Pending rows never expire. Each row is its tenant's: a lookup by another tenant
 * finds nothing.
 *
 * <p>Thread-safe: one connection, every method {@code synchronized} on this store (SQLite serializes
 * writers anyway; the work per call is one small transaction).
 */
final class ReanswerStore implements AutoCloseable {
  static final String FILE = "reanswers.db";
  private static final Logger log = LoggerFactory.getLogger(ReanswerStore.class);

  private final SecureRandom random = new SecureRandom();
  private final int maxEntries;
  private final long maxBytes;
  @GuardedBy("this")
  private final Connection db;

  private ReanswerStore(Connection db, int maxEntries, long maxBytes) {
    this.db = db;
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  /**
   * Opens (or creates) the queue in {@code dir}.
   *
   * @throws IOException when the directory or the file cannot be made or read
   */
  static ReanswerStore open(Path dir, int maxEntries, long maxBytes) throws IOException {
    Files.createDirectories(dir);
    try {
      Connection db = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve(FILE).toAbsolutePath());
      try (Statement s = db.createStatement()) {
        s.execute("PRAGMA journal_mode=WAL");
        s.execute("PRAGMA synchronous=FULL");
        s.execute("PRAGMA busy_timeout=5000");
        s.execute("""
            CREATE TABLE IF NOT EXISTS reanswers (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              id TEXT NOT NULL UNIQUE,
              tenant TEXT NOT NULL,
              request BLOB NOT NULL,
              created INTEGER NOT NULL,
              state TEXT NOT NULL,
              attempts INTEGER NOT NULL DEFAULT 0,
              body BLOB,
              answered INTEGER,
              bytes INTEGER NOT NULL,
              hook TEXT NOT NULL DEFAULT 'none',
              hook_attempts INTEGER NOT NULL DEFAULT 0,
              hook_due INTEGER NOT NULL DEFAULT 0)""");
      } catch (SQLException e) {
        db.close();
        throw e;
      }
      return new ReanswerStore(db, maxEntries, maxBytes);
    } catch (SQLException e) {
      throw new IOException("reanswer: cannot open " + dir.resolve(FILE) + ": " + e.getMessage(), e);
    }
  }

  /** A request waiting for the core: its id, tenant, wire request and the sends tried so far. */
  record Pending(String id, String tenant, byte[] request, int attempts) {}

  /** An answer due at the webhook. */
  record Delivery(String id, byte[] body, int attempts) {}

  /**
   * Keeps {@code request} for {@code tenant}, durably, if the queue has room.
   *
   * @return the new id, or a refusal ({@link Deferral#QUEUE_FULL}, {@link Deferral#STORE_FAILED})
   */
  synchronized Deferral defer(String tenant, byte[] request, long nowMillis) {
    try {
      try (Statement s = db.createStatement();
           ResultSet held = s.executeQuery("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM reanswers")) {
        held.next();
        if (held.getLong(1) >= maxEntries || held.getLong(2) + request.length > maxBytes) {
          return Deferral.refused(Deferral.QUEUE_FULL);
        }
      }
      String id = newId();
      try (PreparedStatement insert = db.prepareStatement(
          "INSERT INTO reanswers (id, tenant, request, created, state, bytes) VALUES (?, ?, ?, ?, 'pending', ?)")) {
        insert.setString(1, id);
        insert.setString(2, tenant);
        insert.setBytes(3, request);
        insert.setLong(4, nowMillis);
        insert.setLong(5, request.length);
        insert.executeUpdate();
      }
      return Deferral.deferred(id);
    } catch (SQLException e) {
      log.error("reanswer: cannot keep a request: {}", e.getMessage());
      return Deferral.refused(Deferral.STORE_FAILED);
    }
  }

  /** Up to {@code max} pending requests, oldest first. */
  synchronized List<Pending> pending(int max) {
    List<Pending> out = new ArrayList<>();
    try (PreparedStatement q = db.prepareStatement(
        "SELECT id, tenant, request, attempts FROM reanswers WHERE state = 'pending' ORDER BY seq LIMIT ?")) {
      q.setInt(1, max);
      try (ResultSet r = q.executeQuery()) {
        while (r.next()) {
          out.add(new Pending(r.getString(1), r.getString(2), r.getBytes(3), r.getInt(4)));
        }
      }
    } catch (SQLException e) {
      throw failed("read the queue", e);
    }
    return out;
  }

  /**
   * Stores {@code body} as {@code id}'s answer ({@code answered}) or final error ({@code failed}) if it
   * is still pending; the webhook is due at once when {@code webhook}.
   *
   * @return whether this call stored it (false: it had an outcome already, or no such id)
   */
  synchronized boolean answer(String id, boolean answered, byte[] body, long nowMillis, boolean webhook) {
    try (PreparedStatement u = db.prepareStatement("UPDATE reanswers SET state = ?, body = ?, answered = ?,"
        + " bytes = bytes + ?, hook = ?, hook_due = ? WHERE id = ? AND state = 'pending'")) {
      u.setString(1, answered ? "answered" : "failed");
      u.setBytes(2, body);
      u.setLong(3, nowMillis);
      u.setLong(4, body.length);
      u.setString(5, webhook ? "due" : "none");
      u.setLong(6, nowMillis);
      u.setString(7, id);
      return u.executeUpdate() == 1;
    } catch (SQLException e) {
      throw failed("store an answer", e);
    }
  }

  /** Counts a send of {@code id} that failed and will be tried again. */
  synchronized void attempted(String id) {
    try (PreparedStatement u = db.prepareStatement("UPDATE reanswers SET attempts = attempts + 1 WHERE id = ?")) {
      u.setString(1, id);
      u.executeUpdate();
    } catch (SQLException e) {
      throw failed("count an attempt", e);
    }
  }

  /** {@code id} as {@code tenant} may see it. */
  synchronized Deferrals.Answer find(String id, String tenant) {
    try (PreparedStatement q = db.prepareStatement("SELECT state, body FROM reanswers WHERE id = ? AND tenant = ?")) {
      q.setString(1, id);
      q.setString(2, tenant);
      try (ResultSet r = q.executeQuery()) {
        if (!r.next()) {
          return Deferrals.Answer.UNKNOWN;
        }
        return switch (r.getString(1)) {
          case "pending" -> Deferrals.Answer.PENDING;
          case "answered" -> new Deferrals.Answer(Deferrals.State.ANSWERED, r.getBytes(2));
          default -> new Deferrals.Answer(Deferrals.State.FAILED, r.getBytes(2));
        };
      }
    } catch (SQLException e) {
      throw failed("look up an answer", e);
    }
  }

  /** Up to {@code max} answers whose webhook delivery is due at {@code nowMillis}, oldest first. */
  synchronized List<Delivery> dueDeliveries(long nowMillis, int max) {
    List<Delivery> out = new ArrayList<>();
    try (PreparedStatement q = db.prepareStatement("SELECT id, body, hook_attempts FROM reanswers"
        + " WHERE hook = 'due' AND hook_due <= ? ORDER BY hook_due LIMIT ?")) {
      q.setLong(1, nowMillis);
      q.setInt(2, max);
      try (ResultSet r = q.executeQuery()) {
        while (r.next()) {
          out.add(new Delivery(r.getString(1), r.getBytes(2), r.getInt(3)));
        }
      }
    } catch (SQLException e) {
      throw failed("read the webhook queue", e);
    }
    return out;
  }

  /**
   * Records a delivery of {@code id}: {@code done}, or failed and due again at {@code retryAt}
   * (empty: given up).
   */
  synchronized void delivered(String id, boolean done, Optional<Long> retryAt) {
    String hook = done ? "done" : retryAt.isPresent() ? "due" : "gave_up";
    try (PreparedStatement u = db.prepareStatement(
        "UPDATE reanswers SET hook = ?, hook_attempts = hook_attempts + 1, hook_due = ? WHERE id = ?")) {
      u.setString(1, hook);
      u.setLong(2, retryAt.orElse(0L));
      u.setString(3, id);
      u.executeUpdate();
    } catch (SQLException e) {
      throw failed("record a delivery", e);
    }
  }

  /** Drops answers that arrived before {@code cutoffMillis}; returns how many. Pending rows stay. */
  synchronized int expire(long cutoffMillis) {
    try (PreparedStatement d = db.prepareStatement(
        "DELETE FROM reanswers WHERE state <> 'pending' AND answered < ?")) {
      d.setLong(1, cutoffMillis);
      return d.executeUpdate();
    } catch (SQLException e) {
      throw failed("expire answers", e);
    }
  }

  /** How many rows are pending. */
  synchronized int pendingCount() {
    try (Statement s = db.createStatement();
         ResultSet r = s.executeQuery("SELECT COUNT(*) FROM reanswers WHERE state = 'pending'")) {
      r.next();
      return r.getInt(1);
    } catch (SQLException e) {
      throw failed("count the queue", e);
    }
  }

  private String newId() {
    byte[] bytes = new byte[16];
    random.nextBytes(bytes);
    return "ra_" + HexFormat.of().formatHex(bytes);
  }

  private static UncheckedIOException failed(String what, SQLException e) {
    return new UncheckedIOException(new IOException("reanswer: cannot " + what + ": " + e.getMessage(), e));
  }

  @Override
  public synchronized void close() {
    try {
      db.close();
    } catch (SQLException e) {
      throw failed("close the queue", e);
    }
  }
}
