package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.edge.config.Batches;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The {@link BatchStore} over JDBC, for SQLite (embedded: {@code batches.db} in WAL mode in the data
 * directory, one process at a time, which a lock file enforces) and PostgreSQL (several nodes
 * sharing one queue). The SQL is the same for both but for types and the claim: PostgreSQL picks
 * the next line with {@code FOR UPDATE SKIP LOCKED}, so concurrent workers on any node never wait
 * for or take the same line; SQLite has one connection, so claims are serial anyway.
 *
 * <p>Lines are rows {@code (batch_id, line_no)}, unique by {@code (batch_id, custom_id)}, in state
 * {@code pending}, {@code running} (with {@code worker} and {@code lease_until}) or {@code done}
 * (with the output line). A SQLite store opening its file knows no other process uses it, so lines
 * left running by a killed process are pending again at once; on PostgreSQL they wait out their
 * lease. File contents are kept in the database beside their SHA-256, checked on read. Thread-safe.
 */
public final class JdbcBatchStore implements BatchStore {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final String LINE_COLUMNS = "batch_id, line_no, custom_id, body, attempts";

  private final Batches.Store kind;
  private final Connections db;
  private final FileChannel lockFile; // SQLite only
  private final BatchFinisher finisher;

  private JdbcBatchStore(Batches.Store kind, Connections db, FileChannel lockFile) {
    this.kind = kind;
    this.db = db;
    this.lockFile = lockFile;
    this.finisher = new BatchFinisher(db);
  }

  /** Opens the store {@code config} names, creating its tables when missing. */
  public static JdbcBatchStore open(Batches config, int connections) throws IOException {
    requireNonNull(config, "config");
    try {
      if (config.store() == Batches.Store.POSTGRESQL) {
        Connections db = new Connections(Connections.url(config.jdbcUrl(), config.user(), config.password()),
            Math.max(2, connections));
        return new JdbcBatchStore(Batches.Store.POSTGRESQL, db, null).migrate();
      }
      return sqlite(config.dataDir().orElseThrow());
    } catch (SQLException e) {
      throw new IOException("batch: cannot open the " + config.store() + " store: "
          + e.getMessage(), e);
    }
  }

  private static JdbcBatchStore sqlite(Path dir) throws IOException, SQLException {
    Files.createDirectories(dir);
    FileChannel lock = FileChannel.open(dir.resolve("batches.lock"), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE);
    FileLock held;
    try {
      held = lock.tryLock();
    } catch (OverlappingFileLockException e) { // this JVM holds it already
      held = null;
    }
    if (held == null) {
      lock.close();
      throw new IOException("batch.data_dir: " + dir + " is in use by another process (batches.lock)");
    }
    String url = "jdbc:sqlite:" + dir.resolve("batches.db");
    Connections db = new Connections(() -> {
      Connection c = DriverManager.getConnection(url);
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA journal_mode=WAL");
        s.execute("PRAGMA synchronous=NORMAL"); // WAL + NORMAL: a commit survives the process being killed
        s.execute("PRAGMA busy_timeout=10000");
      }
      return c;
    }, 1);
    JdbcBatchStore store = new JdbcBatchStore(Batches.Store.SQLITE, db, lock).migrate();
    store.db.transaction(c -> { // no other process holds this file: what was running died with it
      try (PreparedStatement s = c.prepareStatement(
          "UPDATE batch_lines SET state = 'pending', worker = NULL, lease_until = NULL WHERE state = 'running'")) {
        return s.executeUpdate();
      }
    });
    return store;
  }

  private JdbcBatchStore migrate() {
    String blob = kind == Batches.Store.POSTGRESQL ? "BYTEA" : "BLOB";
    db.transaction(c -> {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS batch_files (id TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
            + " filename TEXT NOT NULL, purpose TEXT NOT NULL, bytes BIGINT NOT NULL, sha256 TEXT NOT NULL,"
            + " created_at BIGINT NOT NULL, content " + blob + " NOT NULL)");
        s.execute("CREATE INDEX IF NOT EXISTS batch_files_tenant ON batch_files (tenant, id)");
        s.execute("CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
            + " caller TEXT NOT NULL, privacy_policy TEXT, endpoint TEXT NOT NULL, input_file_id TEXT NOT NULL,"
            + " completion_window TEXT NOT NULL, status TEXT NOT NULL, output_file_id TEXT, error_file_id TEXT,"
            + " metadata TEXT NOT NULL, total INT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
            + " in_progress_at BIGINT, finalizing_at BIGINT, completed_at BIGINT, failed_at BIGINT,"
            + " expired_at BIGINT, cancelling_at BIGINT, cancelled_at BIGINT)");
        s.execute("CREATE INDEX IF NOT EXISTS batches_tenant ON batches (tenant, id)");
        s.execute("CREATE INDEX IF NOT EXISTS batches_status ON batches (status, id)");
        s.execute("CREATE TABLE IF NOT EXISTS batch_lines (batch_id TEXT NOT NULL, line_no INT NOT NULL,"
            + " custom_id TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL, attempts INT NOT NULL,"
            + " worker TEXT, lease_until BIGINT, failed INT NOT NULL, result TEXT,"
            + " PRIMARY KEY (batch_id, line_no), UNIQUE (batch_id, custom_id))");
        s.execute("CREATE INDEX IF NOT EXISTS batch_lines_state ON batch_lines (state, batch_id, line_no)");
      }
      return null;
    });
    return this;
  }

  @Override
  public StoredFile putFile(String tenant, String filename, String purpose, byte[] content, Instant now) {
    StoredFile file = new StoredFile(Ids.next("file-", now), tenant, filename, purpose, content.length,
        sha256(content), now.getEpochSecond());
    db.transaction(c -> insertFile(c, file, content));
    return file;
  }

  static Void insertFile(Connection c, StoredFile file, byte[] content) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("INSERT INTO batch_files (id, tenant, filename, purpose, bytes,"
        + " sha256, created_at, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
      s.setString(1, file.id());
      s.setString(2, file.tenant());
      s.setString(3, file.filename());
      s.setString(4, file.purpose());
      s.setLong(5, file.bytes());
      s.setString(6, file.sha256());
      s.setLong(7, file.createdAt());
      s.setBytes(8, content);
      s.executeUpdate();
    }
    return null;
  }

  @Override
  public Optional<StoredFile> file(String tenant, String id) {
    return db.transaction(c -> {
      try (PreparedStatement s = c.prepareStatement("SELECT id, tenant, filename, purpose, bytes, sha256, created_at"
          + " FROM batch_files WHERE tenant = ? AND id = ?")) {
        s.setString(1, tenant);
        s.setString(2, id);
        try (ResultSet r = s.executeQuery()) {
          return r.next() ? Optional.of(file(r)) : Optional.empty();
        }
      }
    });
  }

  private static StoredFile file(ResultSet r) throws SQLException {
    return new StoredFile(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getLong(5),
        r.getString(6), r.getLong(7));
  }

  @Override
  public Optional<byte[]> content(String tenant, String id) {
    return db.transaction(c -> {
      try (PreparedStatement s = c.prepareStatement("SELECT content, sha256 FROM batch_files WHERE tenant = ? AND id = ?")) {
        s.setString(1, tenant);
        s.setString(2, id);
        try (ResultSet r = s.executeQuery()) {
          if (!r.next()) {
            return Optional.empty();
          }
          byte[] content = r.getBytes(1);
          if (!sha256(content).equals(r.getString(2))) {
            throw new BatchStoreException("file " + id + ": its content does not match its sha256", null);
          }
          return Optional.of(content);
        }
      }
    });
  }

  @Override
  public List<StoredFile> files(String tenant, Optional<String> purpose, Optional<String> after, int limit) {
    return db.transaction(c -> {
      try (PreparedStatement s = c.prepareStatement("SELECT id, tenant, filename, purpose, bytes, sha256, created_at"
          + " FROM batch_files WHERE tenant = ? AND id < ? AND (? = '' OR purpose = ?) ORDER BY id DESC LIMIT ?")) {
        s.setString(1, tenant);
        s.setString(2, after.orElse("~")); // '~' sorts after every id
        s.setString(3, purpose.orElse(""));
        s.setString(4, purpose.orElse(""));
        s.setInt(5, limit);
        List<StoredFile> out = new ArrayList<>();
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            out.add(file(r));
          }
        }
        return out;
      }
    });
  }

  @Override
  public boolean deleteFile(String tenant, String id) {
    return db.transaction(c -> {
      try (PreparedStatement s = c.prepareStatement("DELETE FROM batch_files WHERE tenant = ? AND id = ?")) {
        s.setString(1, tenant);
        s.setString(2, id);
        return s.executeUpdate() == 1;
      }
    });
  }

  @Override
  public Batch createBatch(NewBatch b, List<InputLine> lines) {
    String id = Ids.next("batch_", b.now());
    long now = b.now().getEpochSecond();
    db.transaction(c -> {
      try (PreparedStatement s = c.prepareStatement("INSERT INTO batches (id, tenant, caller, privacy_policy, endpoint,"
          + " input_file_id, completion_window, status, metadata, total, created_at, expires_at, in_progress_at)"
          + " VALUES (?, ?, ?, ?, ?, ?, ?, 'in_progress', ?, ?, ?, ?, ?)")) {
        s.setString(1, id);
        s.setString(2, b.tenant());
        s.setString(3, b.owner().caller());
        s.setString(4, b.owner().privacyPolicy().orElse(null));
        s.setString(5, b.endpoint().path());
        s.setString(6, b.inputFileId());
        s.setString(7, b.completionWindow());
        s.setString(8, json(b.metadata()));
        s.setInt(9, lines.size());
        s.setLong(10, now);
        s.setLong(11, b.expiresAt().getEpochSecond());
        s.setLong(12, now);
        s.executeUpdate();
      }
      try (PreparedStatement s = c.prepareStatement("INSERT INTO batch_lines (batch_id, line_no, custom_id, body,"
          + " state, attempts, failed) VALUES (?, ?, ?, ?, 'pending', 0, 0)")) {
        int pending = 0;
        for (InputLine line : lines) {
          s.setString(1, id);
          s.setInt(2, line.number());
          s.setString(3, line.customId());
          s.setString(4, line.body());
          s.addBatch();
          if (++pending == 500) {
            s.executeBatch();
            pending = 0;
          }
        }
        if (pending > 0) {
          s.executeBatch();
        }
      }
      return null;
    });
    return batch(b.tenant(), id).orElseThrow();
  }

  @Override
  public Optional<Batch> batch(String tenant, String id) {
    return db.transaction(c -> batch(c, tenant, id));
  }

  private static final String BATCH_COLUMNS = "id, tenant, caller, privacy_policy, endpoint, input_file_id,"
      + " completion_window, status, output_file_id, error_file_id, metadata, total, created_at, expires_at,"
      + " in_progress_at, finalizing_at, completed_at, failed_at, expired_at, cancelling_at, cancelled_at";

  static Optional<Batch> batch(Connection c, String tenant, String id) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT " + BATCH_COLUMNS + " FROM batches WHERE id = ?"
        + (tenant == null ? "" : " AND tenant = ?"))) {
      s.setString(1, id);
      if (tenant != null) {
        s.setString(2, tenant);
      }
      try (ResultSet r = s.executeQuery()) {
        return r.next() ? Optional.of(batch(c, r)) : Optional.empty();
      }
    }
  }

  private static Batch batch(Connection c, ResultSet r) throws SQLException {
    String id = r.getString(1);
    int completed = 0;
    int failed = 0;
    try (PreparedStatement s = c.prepareStatement("SELECT failed, count(*) FROM batch_lines WHERE batch_id = ?"
        + " AND state = 'done' GROUP BY failed")) {
      s.setString(1, id);
      try (ResultSet counts = s.executeQuery()) {
        while (counts.next()) {
          if (counts.getInt(1) == 0) {
            completed = counts.getInt(2);
          } else {
            failed = counts.getInt(2);
          }
        }
      }
    }
    BatchOwner owner = new BatchOwner(r.getString(2), r.getString(3), Optional.ofNullable(r.getString(4)));
    Batch.Times times = new Batch.Times(r.getLong(13), r.getLong(14), optionalLong(r, 15), optionalLong(r, 16),
        optionalLong(r, 17), optionalLong(r, 18), optionalLong(r, 19), optionalLong(r, 20), optionalLong(r, 21));
    return new Batch(id, r.getString(2), owner, BatchEndpoint.of(r.getString(5)).orElseThrow(), r.getString(6),
        r.getString(7), BatchStatus.of(r.getString(8)), r.getString(9), r.getString(10), metadata(r.getString(11)),
        times, r.getInt(12), completed, failed);
  }

  private static OptionalLong optionalLong(ResultSet r, int column) throws SQLException {
    long v = r.getLong(column);
    return r.wasNull() ? OptionalLong.empty() : OptionalLong.of(v);
  }

  @Override
  public List<Batch> batches(String tenant, Optional<String> after, int limit) {
    return db.transaction(c -> {
      try (PreparedStatement s = c.prepareStatement("SELECT " + BATCH_COLUMNS + " FROM batches WHERE tenant = ?"
          + " AND id < ? ORDER BY id DESC LIMIT ?")) {
        s.setString(1, tenant);
        s.setString(2, after.orElse("~"));
        s.setInt(3, limit);
        List<Batch> out = new ArrayList<>();
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            out.add(batch(c, r));
          }
        }
        return out;
      }
    });
  }

  @Override
  public Optional<Batch> cancel(String tenant, String id, Instant now) {
    return db.transaction(c -> {
      try (PreparedStatement s = c.prepareStatement("UPDATE batches SET status = 'cancelling', cancelling_at = ?"
          + " WHERE tenant = ? AND id = ? AND status IN ('validating', 'in_progress')")) {
        s.setLong(1, now.getEpochSecond());
        s.setString(2, tenant);
        s.setString(3, id);
        s.executeUpdate();
      }
      return batch(c, tenant, id);
    });
  }

  @Override
  public Optional<ClaimedLine> claim(String worker, Instant now, Duration lease) {
    String lock = kind == Batches.Store.POSTGRESQL ? " FOR UPDATE SKIP LOCKED" : "";
    String sql = "UPDATE batch_lines SET state = 'running', worker = ?, lease_until = ?, attempts = attempts + 1"
        + " WHERE (batch_id, line_no) IN (SELECT batch_id, line_no FROM batch_lines WHERE %s AND batch_id IN"
        + " (SELECT id FROM batches WHERE status = 'in_progress') ORDER BY batch_id, line_no LIMIT 1" + lock + ")"
        + " RETURNING " + LINE_COLUMNS;
    return db.transaction(c -> {
      // a line whose worker died first (few, if any), then the next pending one
      Optional<String[]> claimed = claimOne(c, sql.formatted("state = 'running' AND lease_until < ?"), worker, now,
          lease, true);
      if (claimed.isEmpty()) {
        claimed = claimOne(c, sql.formatted("state = 'pending'"), worker, now, lease, false);
      }
      if (claimed.isEmpty()) {
        return Optional.empty();
      }
      String[] row = claimed.get();
      try (PreparedStatement s = c.prepareStatement("SELECT tenant, caller, privacy_policy, endpoint FROM batches"
          + " WHERE id = ?")) { // not batch(): its counts cost a pass over the lines
        s.setString(1, row[0]);
        try (ResultSet r = s.executeQuery()) {
          r.next();
          BatchOwner owner = new BatchOwner(r.getString(1), r.getString(2), Optional.ofNullable(r.getString(3)));
          return Optional.of(new ClaimedLine(row[0], Integer.parseInt(row[1]), row[2], row[3],
              BatchEndpoint.of(r.getString(4)).orElseThrow(), owner, Integer.parseInt(row[4])));
        }
      }
    });
  }

  private static Optional<String[]> claimOne(Connection c, String sql, String worker, Instant now, Duration lease,
      boolean expired) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, worker);
      s.setLong(2, now.plus(lease).toEpochMilli());
      if (expired) {
        s.setLong(3, now.toEpochMilli());
      }
      try (ResultSet r = s.executeQuery()) {
        if (!r.next()) {
          return Optional.empty();
        }
        return Optional.of(new String[] {r.getString(1), String.valueOf(r.getInt(2)), r.getString(3), r.getString(4),
            String.valueOf(r.getInt(5))});
      }
    }
  }

  @Override
  public boolean complete(ClaimedLine line, String worker, boolean failed, String result) {
    return db.transaction(c -> {
      try (PreparedStatement s = c.prepareStatement("UPDATE batch_lines SET state = 'done', failed = ?, result = ?,"
          + " worker = NULL, lease_until = NULL WHERE batch_id = ? AND line_no = ? AND state = 'running' AND worker = ?")) {
        s.setInt(1, failed ? 1 : 0);
        s.setString(2, result);
        s.setString(3, line.batchId());
        s.setInt(4, line.number());
        s.setString(5, worker);
        return s.executeUpdate() == 1;
      }
    });
  }

  @Override
  public void release(ClaimedLine line, String worker) {
    db.transaction(c -> {
      try (PreparedStatement s = c.prepareStatement("UPDATE batch_lines SET state = 'pending', worker = NULL,"
          + " lease_until = NULL WHERE batch_id = ? AND line_no = ? AND state = 'running' AND worker = ?")) {
        s.setString(1, line.batchId());
        s.setInt(2, line.number());
        s.setString(3, worker);
        return s.executeUpdate();
      }
    });
  }

  @Override
  public int finishDue(Instant now) {
    return finisher.finishDue(now);
  }

  @Override
  public void close() {
    db.close();
    if (lockFile != null) {
      try {
        lockFile.close();
      } catch (IOException ignored) {
        // the lock goes with the process anyway
      }
    }
  }

  static String sha256(byte[] content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private static String json(Map<String, String> metadata) {
    try {
      return JSON.writeValueAsString(metadata);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("metadata", e);
    }
  }

  private static Map<String, String> metadata(String json) {
    try {
      return JSON.readValue(json, new TypeReference<Map<String, String>>() {});
    } catch (JsonProcessingException e) {
      throw new BatchStoreException("stored metadata is not JSON", e);
    }
  }

  @Override
  public String toString() {
    return "JdbcBatchStore{" + kind + "}";
  }
}
