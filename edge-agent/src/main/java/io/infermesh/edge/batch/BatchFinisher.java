package io.infermesh.edge.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Finishes batches that have nothing left to run, each in one transaction: the status moves (from
 * what it was, so of two nodes finishing the same batch one does it and the other finds nothing),
 * the output file (answered lines, input order) and the error file (failed lines) are written, and
 * the final status and file ids are set. A batch that expired first marks its unanswered lines
 * failed with OpenAI's {@code batch_expired}; a cancelled one keeps what was answered. Thread-safe
 * (it holds no state).
 */
final class BatchFinisher {
  private final Connections db;

  BatchFinisher(Connections db) {
    this.db = db;
  }

  int finishDue(Instant now) {
    long seconds = now.getEpochSecond();
    List<String[]> due = db.transaction(c -> {
      List<String[]> out = new ArrayList<>();
      select(c, out, "SELECT id, status FROM batches WHERE status IN ('validating', 'in_progress') AND expires_at <= ?",
          seconds, "expired");
      select(c, out, "SELECT b.id, b.status FROM batches b WHERE b.status = 'in_progress' AND b.expires_at > ? AND NOT"
          + " EXISTS (SELECT 1 FROM batch_lines l WHERE l.batch_id = b.id AND l.state IN ('pending', 'running'))", seconds,
          "completed");
      select(c, out, "SELECT b.id, b.status FROM batches b WHERE b.status = 'cancelling' AND NOT EXISTS"
          + " (SELECT 1 FROM batch_lines l WHERE l.batch_id = b.id AND l.state = 'running' AND l.lease_until >= ?)",
          now.toEpochMilli(), "cancelled");
      return out;
    });
    int finished = 0;
    for (String[] batch : due) {
      if (finish(batch[0], batch[1], batch[2], seconds)) {
        finished++;
      }
    }
    return finished;
  }

  private static void select(Connection c, List<String[]> out, String sql, long bound, String to) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setLong(1, bound);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          out.add(new String[] {r.getString(1), r.getString(2), to});
        }
      }
    }
  }

  /** Moves batch {@code id} from {@code from} to {@code to} with its files; false when another got there first. */
  private boolean finish(String id, String from, String to, long now) {
    return db.transaction(c -> {
      try (PreparedStatement s = c.prepareStatement("UPDATE batches SET status = 'finalizing', finalizing_at = ?"
          + " WHERE id = ? AND status = ?")) {
        s.setLong(1, now);
        s.setString(2, id);
        s.setString(3, from);
        if (s.executeUpdate() != 1) {
          return false;
        }
      }
      if (to.equals("expired")) {
        expireOpenLines(c, id);
      }
      Batch batch = JdbcBatchStore.batch(c, null, id).orElseThrow();
      ByteArrayOutputStream output = new ByteArrayOutputStream();
      ByteArrayOutputStream errors = new ByteArrayOutputStream();
      try (PreparedStatement s = c.prepareStatement("SELECT failed, result FROM batch_lines WHERE batch_id = ?"
          + " AND state = 'done' ORDER BY line_no")) {
        s.setString(1, id);
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            ByteArrayOutputStream into = r.getInt(1) == 0 ? output : errors;
            into.writeBytes(r.getString(2).getBytes(StandardCharsets.UTF_8));
            into.write('\n');
          }
        }
      }
      Instant at = Instant.ofEpochSecond(now);
      String outputId = output.size() == 0 ? null : file(c, batch, "batch_" + id + "_output.jsonl", output, at);
      String errorId = errors.size() == 0 ? null : file(c, batch, "batch_" + id + "_error.jsonl", errors, at);
      try (PreparedStatement s = c.prepareStatement("UPDATE batches SET status = ?, output_file_id = ?,"
          + " error_file_id = ?, " + to + "_at = ? WHERE id = ?")) {
        s.setString(1, to);
        s.setString(2, outputId);
        s.setString(3, errorId);
        s.setLong(4, now);
        s.setString(5, id);
        s.executeUpdate();
      }
      return true;
    });
  }

  private static void expireOpenLines(Connection c, String id) throws SQLException {
    List<Object[]> open = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement("SELECT line_no, custom_id FROM batch_lines WHERE batch_id = ?"
        + " AND state <> 'done'")) {
      s.setString(1, id);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          open.add(new Object[] {r.getInt(1), r.getString(2)});
        }
      }
    }
    try (PreparedStatement s = c.prepareStatement("UPDATE batch_lines SET state = 'done', failed = 1, result = ?,"
        + " worker = NULL, lease_until = NULL WHERE batch_id = ? AND line_no = ?")) {
      for (Object[] line : open) {
        ObjectNode out = OutputLines.error((String) line[1], "batch_expired",
            "This request could not be executed before the completion window expired.");
        s.setString(1, out.toString());
        s.setString(2, id);
        s.setInt(3, (Integer) line[0]);
        s.addBatch();
      }
      if (!open.isEmpty()) {
        s.executeBatch();
      }
    }
  }

  private static String file(Connection c, Batch batch, String name, ByteArrayOutputStream content, Instant now)
      throws SQLException {
    byte[] bytes = content.toByteArray();
    StoredFile file = new StoredFile(Ids.next("file-", now), batch.tenant(), name, "batch_output", bytes.length,
        JdbcBatchStore.sha256(bytes), now.getEpochSecond());
    JdbcBatchStore.insertFile(c, file, bytes);
    return file.id();
  }
}
