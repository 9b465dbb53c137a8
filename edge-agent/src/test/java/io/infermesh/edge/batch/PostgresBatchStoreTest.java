package io.infermesh.edge.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.config.Batches;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PostgreSQL store against a real server: two nodes (each its own store and connections)
 * claiming from one queue with {@code FOR UPDATE SKIP LOCKED} never take the same line; one dies
 * holding lines, the other takes them over when their lease runs out; the output has every
 * custom_id exactly once.
 */
class PostgresBatchStoreTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration LEASE = Duration.ofSeconds(30);

  @TempDir static Path dir;
  private static PostgresServer server;

  @BeforeAll
  static void start() throws Exception {
    server = PostgresServer.start(dir);
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  private static JdbcBatchStore node() throws IOException {
    return JdbcBatchStore.open(new Batches(true, Batches.Store.POSTGRESQL, Optional.empty(), server.jdbcUrl(),
        "postgres", "", 4, 1 << 20, 100_000, Duration.ofHours(24), LEASE), 4);
  }

  @Test
  void twoNodes_oneKilledHoldingLines_nothingLostNothingTwice() throws Exception {
    int lines = 400;
    try (JdbcBatchStore survivor = node()) {
      JdbcBatchStore doomed = node();
      Batch batch = SqliteBatchStoreTest.create(survivor, "acme", lines, T0);
      Set<String> claimedTwice = ConcurrentHashMap.newKeySet();
      Set<String> claimed = ConcurrentHashMap.newKeySet();
      AtomicInteger doomedHeld = new AtomicInteger();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      List<Future<?>> work = new ArrayList<>();
      try {
        for (int w = 0; w < 4; w++) {
          boolean dies = w < 2; // two of the doomed node's workers, two of the survivor's
          JdbcBatchStore store = dies ? doomed : survivor;
          String worker = (dies ? "doomed-" : "survivor-") + w;
          work.add(pool.submit(() -> {
            int done = 0;
            for (Optional<ClaimedLine> c; (c = store.claim(worker, T0, LEASE)).isPresent(); ) {
              ClaimedLine line = c.get();
              if (!claimed.add(line.customId())) {
                claimedTwice.add(line.customId());
              }
              if (dies && ++done == 40) {
                doomedHeld.incrementAndGet(); // killed now: this line stays claimed, never answered
                return null;
              }
              store.complete(line, worker, false, "{\"custom_id\":\"" + line.customId() + "\"}");
            }
            return null;
          }));
        }
        for (Future<?> f : work) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      doomed.close(); // its connections go, as a killed process's would

      assertThat(claimedTwice).as("SKIP LOCKED: no line claimed by two workers").isEmpty();
      assertThat(doomedHeld.get()).isEqualTo(2);
      assertThat(survivor.claim("survivor-0", T0.plusSeconds(29), LEASE)).as("still leased").isEmpty();
      assertThat(survivor.finishDue(T0.plusSeconds(29))).isZero();
      int takenOver = 0;
      for (Optional<ClaimedLine> c; (c = survivor.claim("survivor-0", T0.plusSeconds(31), LEASE)).isPresent(); ) {
        survivor.complete(c.get(), "survivor-0", false, "{\"custom_id\":\"" + c.get().customId() + "\"}");
        takenOver++;
      }
      assertThat(takenOver).isEqualTo(2);
      assertThat(survivor.finishDue(T0.plusSeconds(31))).isEqualTo(1);

      Batch done = survivor.batch("acme", batch.id()).orElseThrow();
      assertThat(done.status()).isEqualTo(BatchStatus.COMPLETED);
      assertThat(done.completed()).isEqualTo(lines);
      List<String> output = new String(survivor.content("acme", done.outputFileId()).orElseThrow(),
          StandardCharsets.UTF_8).lines().toList();
      assertThat(output).hasSize(lines);
      assertThat(new HashSet<>(output)).hasSize(lines);
    }
  }

  @Test
  void finishing_twoNodesAtOnce_oneFinishesTheBatch() throws Exception {
    try (JdbcBatchStore a = node(); JdbcBatchStore b = node()) {
      Batch batch = SqliteBatchStoreTest.create(a, "globex", 1, T0);
      ClaimedLine line = b.claim("b", T0, LEASE).orElseThrow();
      b.complete(line, "b", false, "{}");

      int finished = a.finishDue(T0) + b.finishDue(T0);

      assertThat(finished).isEqualTo(1);
      assertThat(b.batch("globex", batch.id()).orElseThrow().status()).isEqualTo(BatchStatus.COMPLETED);
      assertThat(b.files("globex", Optional.of("batch_output"), Optional.empty(), 10)).hasSize(1);
    }
  }
}
