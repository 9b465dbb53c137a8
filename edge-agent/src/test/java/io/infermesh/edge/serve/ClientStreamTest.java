package io.infermesh.edge.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.FakeClock;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Priority;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.node.audit.AuditFsync;
import io.infermesh.node.audit.AuditLog;
import io.infermesh.node.quota.QuotaDecision;
import io.infermesh.node.quota.QuotaLedger;
import io.infermesh.node.quota.QuotaWindow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a request ends for governance: its quota settled once, its audit line written, on close. */
class ClientStreamTest {
  private static final ModelInfo MODEL = new ModelInfo("edge-model", "0123456789ab", "ab".repeat(32), 256, 1,
      "chatml");
  @TempDir Path dir;
  private final FakeClock time = new FakeClock(Instant.parse("2026-12-07T10:00:00Z"));
  private final QuotaLedger ledger = QuotaLedger.builder(time.clock()).limit("acme", QuotaWindow.DAY, 1000).build();
  private AuditLog auditLog;
  private AuditTrail audit;

  @BeforeEach
  void open() throws Exception {
    auditLog = AuditLog.builder(dir).fsync(AuditFsync.EVERY_RECORD).clock(time.clock()).open();
    audit = new AuditTrail(auditLog, time.clock());
  }

  @AfterEach
  void close() throws Exception {
    auditLog.close();
  }

  /** A job of tenant acme holding prompt 10 + max 90 in the ledger, with two EMAIL values masked. */
  private Job job() {
    QuotaDecision.Admitted admitted = (QuotaDecision.Admitted) ledger.reserve("acme", 10, 90);
    Job job = new Job("req-7", new Tenant("acme", 0, 0).calledBy("api-key:acme#0"),
        CompletionRequest.text("the secret prompt", SamplingRequest.DEFAULTS),
        new Job.Terms(MODEL, new SamplingParams(90, 0f, 1f, 0, OptionalLong.empty(), List.of()), Priority.NORMAL),
        new Job.Window(0, 1));
    return job.screened(new Screening("pii", Map.of("EMAIL", 2), Set.of()))
        .metered(Meter.of(ledger, admitted.reservation(), 10));
  }

  private static ReplayStream answer(String... chunks) {
    return new ReplayStream("req-7", "edge-model", "1", CachedCompletion.of(List.of(chunks), FinishReason.STOP, 10, 3));
  }

  @Test
  void close_afterTheEnd_settlesWhatTheGenerationsReportedAndAuditsOnce() throws Exception {
    Job job = job();
    job.meter().add(13);
    ClientStream stream = new ClientStream(answer("alpha", "beta", "gamma"), job, audit);
    assertThat(ledger.reserved("acme", QuotaWindow.DAY)).hasValue(100);

    StreamEvents.untilEnd(stream);
    stream.close();
    stream.close();

    assertThat(ledger.used("acme", QuotaWindow.DAY)).hasValue(13);
    assertThat(ledger.reserved("acme", QuotaWindow.DAY)).hasValue(0);
    List<String> lines = Files.readAllLines(dir.resolve("audit-000001.jsonl"));
    assertThat(lines).singleElement().asString().contains("\"request_id\":\"req-7\"", "\"tenant\":\"acme\"",
        "\"caller\":\"api-key:acme#0\"", "\"masking\":{\"EMAIL\":2}", "\"quota\":\"ok\"", "\"status\":\"ok:stop\"",
        "\"prompt_tokens\":10", "\"completion_tokens\":3").doesNotContain("secret").doesNotContain("alpha");
  }

  @Test
  void close_cancelledBeforeAnyUsageWasReported_chargesThePromptAndThePiecesSent() throws Exception {
    ClientStream stream = new ClientStream(answer("a", "b", "c"), job(), audit);

    stream.next();
    stream.next();
    stream.close();

    assertThat(ledger.used("acme", QuotaWindow.DAY)).hasValue(12);
    assertThat(Files.readAllLines(dir.resolve("audit-000001.jsonl"))).singleElement().asString()
        .contains("\"status\":\"cancelled\"");
  }
}
