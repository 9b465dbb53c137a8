package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.node.audit.AuditLog;
import io.infermesh.node.audit.AuditRecord;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge's audit log ({@code audit:}): one {@link AuditRecord} per request decision, written where
 * the request ends — a refusal in {@link CompletionService#open}, a cache hit at once, anything else
 * when its client closes the answer ({@link ClientStream}). A record holds the time, request id,
 * tenant, caller (never a key or token), route and reason, model and version, tokens, the quota
 * outcome, the privacy matches as kinds and counts, and the final status; never prompt or answer
 * text. A failed write is logged and the request goes on: the answer is already the client's.
 * {@link #NONE} writes nothing. Thread-safe (the log is).
 */
final class AuditTrail {
  /** Writes nothing. */
  static final AuditTrail NONE = new AuditTrail(null, Clock.systemUTC());

  private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);

  private final AuditLog auditLog;
  private final Clock clock;

  AuditTrail(AuditLog auditLog, Clock clock) {
    this.auditLog = auditLog;
    this.clock = requireNonNull(clock, "clock");
  }

  /**
   * {@code job} ended as {@code end}: a {@link StreamEvent.Done}, a {@link StreamEvent.Failed}, or
   * null when its client closed the answer before its end.
   */
  void ended(Job job, Served served, StreamEvent end) {
    if (auditLog == null) {
      return;
    }
    AuditRecord.Builder record = record(job.id(), job.tenant(), job.screening())
        .route(served.route().route().wireName(), served.route().reason())
        .model(served.model(), served.modelVersion())
        .quota(job.meter() == Meter.NONE ? "" : "ok");
    if (end instanceof StreamEvent.Done done) {
      record.tokens(done.usage().promptTokens(), done.usage().completionTokens())
          .status("ok:" + done.finishReason().name().toLowerCase(Locale.ROOT));
    } else if (end instanceof StreamEvent.Failed failed) {
      record.status(failed.error().kind().metricName());
    } else {
      record.status("cancelled");
    }
    append(record);
  }

  /** {@code job}'s answer was replayed from the cache. */
  void replayed(Job job, Served served) {
    if (auditLog == null) {
      return;
    }
    append(record(job.id(), job.tenant(), job.screening())
        .route(served.route().route().wireName(), served.route().reason())
        .model(served.model(), served.modelVersion())
        .status("ok:cache"));
  }

  /**
   * A request refused before it ran: {@code reason} as its infermesh.edge.rejections reason ({@code
   * privacy_blocked}, {@code quota}, {@code invalid_argument}, …).
   *
   * @param requestId its id (the caller's or made up), empty when refused before one was given
   * @param quota the quota refusal ({@code exceeded:tokens_per_day}), else empty
   */
  void refused(String requestId, Tenant tenant, Screening screening, String reason, String quota) {
    if (auditLog == null) {
      return;
    }
    append(record(requestId.isEmpty() ? "-" : requestId, tenant, screening).quota(quota).status("refused:" + reason));
  }

  private AuditRecord.Builder record(String requestId, Tenant tenant, Screening screening) {
    Map<String, Integer> masking = screening.counts();
    return AuditRecord.builder().time(clock.instant()).requestId(requestId).tenant(tenant.name())
        .caller(tenant.caller()).masking(masking);
  }

  private void append(AuditRecord.Builder record) {
    try {
      auditLog.append(record.build());
    } catch (UncheckedIOException | IllegalStateException e) {
      log.error("audit: could not write a record: {}", e.toString());
    }
  }
}
