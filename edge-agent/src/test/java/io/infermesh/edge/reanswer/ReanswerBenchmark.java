package io.infermesh.edge.reanswer;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.serve.Deferral;
import io.infermesh.edge.serve.Deferrals;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a deferral costs the degraded request that asks for it: one durable SQLite commit (WAL,
 * {@code synchronous=FULL}) before its id is told; and what a lookup and the replayer's read of
 * the queue cost with 10,000 entries held. A deferral's time is mostly the disk's fsync. Not part of {@code verify}:
 *
 * <pre>./mvnw -o -pl edge-agent -am test -Dtest=ReanswerBenchmark -Dsurefire.failIfNoSpecifiedTests=false</pre>
 *
 * <p>Prints {@code REANSWER} lines; asserts only that the work was done, not a time.
 */
class ReanswerBenchmark {
  @TempDir Path dir;

  @Test
  void defer_lookup_pending_latency() throws Exception {
    try (ReanswerStore store = ReanswerStore.open(dir, 20_000, 1L << 30)) {
      for (int size : new int[] {1024, 16 * 1024}) {
        byte[] request = new byte[size];
        long[] took = new long[300];
        String id = "";
        for (int i = 0; i < took.length; i++) {
          long t0 = System.nanoTime();
          Deferral d = store.defer("acme", request, i);
          took[i] = System.nanoTime() - t0;
          id = d.id();
        }
        print("defer " + size / 1024 + " KiB (durable insert)", took);
        assertThat(id).isNotEmpty();
      }
      fill(dir.resolve(ReanswerStore.FILE), 10_000 - store.pendingCount());
      String someId = store.pending(1).get(0).id();
      long[] lookups = new long[5_000];
      for (int i = 0; i < lookups.length; i++) {
        long t0 = System.nanoTime();
        Deferrals.Answer a = store.find(someId, i % 2 == 0 ? "acme" : "globex");
        lookups[i] = System.nanoTime() - t0;
        assertThat(a.state()).isIn(Deferrals.State.PENDING, Deferrals.State.UNKNOWN);
      }
      print("find with 10,000 held", lookups);
      long[] reads = new long[500];
      for (int i = 0; i < reads.length; i++) {
        long t0 = System.nanoTime();
        assertThat(store.pending(16)).hasSize(16);
        reads[i] = System.nanoTime() - t0;
      }
      print("pending(16) with 10,000 held", reads);
    }
  }

  /** Adds {@code rows} waiting rows in one transaction (a durable commit each would take minutes). */
  private static void fill(Path file, int rows) throws Exception {
    try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath())) {
      db.setAutoCommit(false);
      try (PreparedStatement insert = db.prepareStatement("INSERT INTO reanswers (id, tenant, request, created, state,"
          + " bytes) VALUES (?, 'acme', ?, 0, 'pending', 256)")) {
        for (int i = 0; i < rows; i++) {
          insert.setString(1, String.format("ra_%032x", i));
          insert.setBytes(2, new byte[256]);
          insert.addBatch();
        }
        insert.executeBatch();
      }
      db.commit();
    }
  }

  private static void print(String what, long[] nanos) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    System.out.printf("REANSWER %-36s p50 %8.3f ms  p99 %8.3f ms  (n=%d)%n", what, sorted[sorted.length / 2] / 1e6,
        sorted[(int) (sorted.length * 0.99)] / 1e6, sorted.length);
  }
}
