package io.infermesh.edge.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.edge.config.Batches;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The SQLite store on a real database file: claims, leases, results once per custom_id, finishing, tenants. */
class SqliteBatchStoreTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration LEASE = Duration.ofSeconds(30);

  @TempDir Path dir;

  private JdbcBatchStore open() throws IOException {
    return JdbcBatchStore.open(Batches.NONE.withSqlite(dir), 1);
  }

  static Batch create(BatchStore store, String tenant, int lines, Instant now) {
    StoredFile file = store.putFile(tenant, "in.jsonl", "batch", "x".getBytes(StandardCharsets.UTF_8), now);
    List<InputLine> input = new ArrayList<>();
    for (int i = 1; i <= lines; i++) {
      input.add(new InputLine(i, "req-" + i, "{\"prompt\":\"" + i + "\"}"));
    }
    return store.createBatch(new BatchStore.NewBatch(tenant, new BatchOwner(tenant, "api-key:" + tenant + "#0",
        Optional.empty()), BatchEndpoint.COMPLETIONS, file.id(), "24h", Map.of("k", "v"), now, now.plusSeconds(3600)),
        input);
  }

  @Test
  void claimAndComplete_everyLineOnce_thenTheBatchCompletesWithItsFiles() throws Exception {
    try (JdbcBatchStore store = open()) {
      Batch batch = create(store, "acme", 5, T0);
      assertThat(batch.status()).isEqualTo(BatchStatus.IN_PROGRESS);
      assertThat(batch.total()).isEqualTo(5);

      for (int i = 0; i < 5; i++) {
        ClaimedLine line = store.claim("w1", T0, LEASE).orElseThrow();
        assertThat(line.number()).isEqualTo(i + 1);
        assertThat(line.owner().tenant()).isEqualTo("acme");
        boolean failed = line.number() == 3;
        assertThat(store.complete(line, "w1", failed, "{\"custom_id\":\"" + line.customId() + "\"}")).isTrue();
      }
      assertThat(store.claim("w1", T0, LEASE)).isEmpty();
      assertThat(store.finishDue(T0)).isEqualTo(1);

      Batch done = store.batch("acme", batch.id()).orElseThrow();
      assertThat(done.status()).isEqualTo(BatchStatus.COMPLETED);
      assertThat(done.completed()).isEqualTo(4);
      assertThat(done.failed()).isEqualTo(1);
      assertThat(done.times().completedAt()).isPresent();
      String output = new String(store.content("acme", done.outputFileId()).orElseThrow(), StandardCharsets.UTF_8);
      assertThat(output.lines()).containsExactly("{\"custom_id\":\"req-1\"}", "{\"custom_id\":\"req-2\"}",
          "{\"custom_id\":\"req-4\"}", "{\"custom_id\":\"req-5\"}");
      String errors = new String(store.content("acme", done.errorFileId()).orElseThrow(), StandardCharsets.UTF_8);
      assertThat(errors.lines()).containsExactly("{\"custom_id\":\"req-3\"}");
      assertThat(store.finishDue(T0)).isZero();
    }
  }

  @Test
  void lease_aDeadWorkersLineIsClaimedAgain_andOnlyTheHoldersResultCounts() throws Exception {
    try (JdbcBatchStore store = open()) {
      create(store, "acme", 1, T0);
      ClaimedLine first = store.claim("dead", T0, LEASE).orElseThrow();
      assertThat(store.claim("w2", T0.plusSeconds(29), LEASE)).isEmpty(); // still leased

      ClaimedLine again = store.claim("w2", T0.plusSeconds(31), LEASE).orElseThrow();

      assertThat(again.customId()).isEqualTo(first.customId());
      assertThat(again.attempt()).isEqualTo(2);
      assertThat(store.complete(first, "dead", false, "{\"late\":1}")).isFalse();
      assertThat(store.complete(again, "w2", false, "{\"ok\":1}")).isTrue();
      assertThat(store.complete(again, "w2", false, "{\"twice\":1}")).isFalse();
    }
  }

  @Test
  void reopen_linesLeftRunningByAKilledProcessArePendingAtOnce() throws Exception {
    String id;
    try (JdbcBatchStore store = open()) {
      id = create(store, "acme", 2, T0).id();
      store.claim("gone", T0, LEASE).orElseThrow();
    }
    try (JdbcBatchStore store = open()) {
      ClaimedLine line = store.claim("new", T0, LEASE).orElseThrow();
      assertThat(line.batchId()).isEqualTo(id);
      assertThat(line.number()).isEqualTo(1);
    }
  }

  @Test
  void open_aSecondProcessOnTheSameDirectory_isRefused() throws Exception {
    try (JdbcBatchStore store = open()) {
      assertThatThrownBy(this::open).isInstanceOf(IOException.class).hasMessageContaining("in use by another process");
    }
  }

  @Test
  void tenants_seeOnlyTheirOwnFilesAndBatches() throws Exception {
    try (JdbcBatchStore store = open()) {
      Batch batch = create(store, "acme", 1, T0);

      assertThat(store.batch("other", batch.id())).isEmpty();
      assertThat(store.file("other", batch.inputFileId())).isEmpty();
      assertThat(store.content("other", batch.inputFileId())).isEmpty();
      assertThat(store.deleteFile("other", batch.inputFileId())).isFalse();
      assertThat(store.cancel("other", batch.id(), T0)).isEmpty();
      assertThat(store.batches("other", Optional.empty(), 10)).isEmpty();
      assertThat(store.batches("acme", Optional.empty(), 10)).extracting(Batch::id).containsExactly(batch.id());
    }
  }

  @Test
  void cancel_stopsClaiming_thenCancelledWithWhatWasAnswered() throws Exception {
    try (JdbcBatchStore store = open()) {
      Batch batch = create(store, "acme", 3, T0);
      ClaimedLine running = store.claim("w", T0, LEASE).orElseThrow();

      assertThat(store.cancel("acme", batch.id(), T0).orElseThrow().status()).isEqualTo(BatchStatus.CANCELLING);
      assertThat(store.claim("w", T0, LEASE)).isEmpty();
      assertThat(store.finishDue(T0)).isZero(); // a line is still running
      store.complete(running, "w", false, "{\"n\":1}");
      assertThat(store.finishDue(T0)).isEqualTo(1);

      Batch done = store.batch("acme", batch.id()).orElseThrow();
      assertThat(done.status()).isEqualTo(BatchStatus.CANCELLED);
      assertThat(done.completed()).isEqualTo(1);
      assertThat(done.times().cancelledAt()).isPresent();
    }
  }

  @Test
  void expiry_unansweredLinesGoToTheErrorFileAsBatchExpired() throws Exception {
    try (JdbcBatchStore store = open()) {
      Batch batch = create(store, "acme", 2, T0);
      ClaimedLine line = store.claim("w", T0, LEASE).orElseThrow();
      store.complete(line, "w", false, "{\"n\":1}");

      assertThat(store.finishDue(T0.plusSeconds(3600))).isEqualTo(1);

      Batch done = store.batch("acme", batch.id()).orElseThrow();
      assertThat(done.status()).isEqualTo(BatchStatus.EXPIRED);
      assertThat(done.completed()).isEqualTo(1);
      assertThat(done.failed()).isEqualTo(1);
      String errors = new String(store.content("acme", done.errorFileId()).orElseThrow(), StandardCharsets.UTF_8);
      assertThat(errors).contains("\"custom_id\":\"req-2\"").contains("batch_expired");
    }
  }
}
