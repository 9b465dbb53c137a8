package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.certs.SpiffeId;
import io.infermesh.core.config.Audit;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.Tenants;
import io.infermesh.core.status.CoreException;
import io.infermesh.core.tenant.TenantDecision;
import io.infermesh.core.tenant.TenantPolicy;
import io.infermesh.node.audit.AuditLog;
import io.infermesh.node.audit.AuditRecord;
import java.io.Closeable;
import java.io.IOException;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the {@link InferenceService} asks of every call about its tenant and writes about it when it
 * ends: admission through the {@link TenantPolicy} (refusals as PERMISSION_DENIED naming {@code
 * tenant} or RESOURCE_EXHAUSTED naming the limit, with a back-off hint, and metered) and one {@link
 * AuditRecord} per call in the node's {@link AuditLog} when {@code audit.enabled}. Thread-safe.
 *
 * <p>A quota reserves the call's worst case before the engine has tokenized the prompt, so the
 * prompt is bounded from its UTF-8 bytes ({@link #promptBound}): a byte-level BPE or SentencePiece
 * tokenizer with byte fallback makes at most one token per byte, plus the chat template's tokens.
 * The real count replaces it when the call settles.
 */
final class Governance implements Closeable {
  /** Tokens a chat template may add per turn (role headers, separators) and around the whole prompt. */
  static final int TEMPLATE_TOKENS = 16;

  private static final Logger log = LoggerFactory.getLogger(Governance.class);

  private final TenantPolicy tenants;
  private final AuditLog audit; // null when audit.enabled is false
  private final Clock clock;
  private final CoreMetrics metrics;
  private final int defaultMaxTokens;

  private Governance(TenantPolicy tenants, AuditLog audit, Clock clock, CoreMetrics metrics, int defaultMaxTokens) {
    this.tenants = requireNonNull(tenants, "tenants");
    this.audit = audit;
    this.clock = requireNonNull(clock, "clock");
    this.metrics = requireNonNull(metrics, "metrics");
    this.defaultMaxTokens = defaultMaxTokens;
  }

  /**
   * The governance of {@code tenants} and {@code audit}, on {@code clock}; opens the audit log when
   * enabled ({@code scheduler} runs its periodic fsync).
   *
   * @param defaultMaxTokens the {@code max_tokens} a request that leaves it unset may use
   * @throws IOException when the audit log's directory cannot be opened
   */
  static Governance open(Tenants tenants, Audit audit, Clock clock, ScheduledExecutorService scheduler,
      CoreMetrics metrics, int defaultMaxTokens) throws IOException {
    AuditLog log = null;
    if (audit.enabled()) {
      log = AuditLog.builder(audit.dir())
          .maxFileBytes(audit.maxFileBytes())
          .maxFileAge(audit.maxFileAge())
          .fsync(audit.fsync())
          .fsyncInterval(audit.fsyncInterval())
          .clock(clock)
          .scheduler(scheduler)
          .open();
    }
    return new Governance(TenantPolicy.of(tenants, clock), log, clock, metrics, defaultMaxTokens);
  }

  /** No tenant checks and no audit log: every call admitted, as before governance. */
  static Governance off(CoreMetrics metrics) {
    return new Governance(TenantPolicy.of(Tenants.off(), Clock.systemUTC()), null, Clock.systemUTC(), metrics,
        CoreConfig.Model.DEFAULT_MAX_TOKENS);
  }

  /** Starts the record of one call from {@code caller}; {@code reason} is why it came to the core. */
  CallEnd begin(Optional<SpiffeId> caller, String requestId, String tenant, String reason) {
    return new CallEnd(this, caller.map(SpiffeId::toString).orElse(""), requestId, tenant, reason);
  }

  /**
   * Admits a Generate call of {@code request} ({@code choices} choices) for {@code end}'s caller.
   *
   * @throws CoreException PERMISSION_DENIED naming {@code tenant}, or RESOURCE_EXHAUSTED naming the limit
   */
  void admit(CallEnd end, Optional<SpiffeId> caller, GenerateRequest request, int choices) {
    long maxTokens = request.getSampling().hasMaxTokens() ? Math.max(0, request.getSampling().getMaxTokens())
        : defaultMaxTokens;
    admit(end, caller, request.getTenant(), promptBound(request), maxTokens * choices);
  }

  /** Admits an Embed call: its inputs bounded like a prompt, nothing generated. */
  void admit(CallEnd end, Optional<SpiffeId> caller, EmbedRequest request) {
    long bound = TEMPLATE_TOKENS;
    for (int i = 0; i < request.getInputCount(); i++) {
      bound += request.getInputBytes(i).size() + 2; // BOS and EOS around each input
    }
    admit(end, caller, request.getTenant(), bound, 0);
  }

  private void admit(CallEnd end, Optional<SpiffeId> caller, String tenant, long promptTokens, long maxTokens) {
    TenantDecision d = tenants.admit(caller, tenant, promptTokens, maxTokens);
    if (d instanceof TenantDecision.Admitted a) {
      end.admitted(a.tab());
      return;
    }
    if (d instanceof TenantDecision.NotVouched n) {
      metrics.tenantRefused("not_vouched");
      end.refused("refused:tenant");
      throw CoreException.of(CoreException.Kind.PERMISSION_DENIED, n.message());
    }
    TenantDecision.Limited l = (TenantDecision.Limited) d;
    metrics.tenantRefused(l.limit());
    end.refused("exceeded:" + l.limit());
    long retryAfter = l.retryAfter().toMillis();
    throw CoreException.resourceExhausted("tenant " + l.tenant() + ": " + l.message() + "; retry after " + retryAfter
        + " ms", retryAfter);
  }

  /**
   * An upper bound of the tokens of {@code request}'s prompt: its UTF-8 bytes (each chat turn's role,
   * name and content) plus {@link #TEMPLATE_TOKENS} per turn and once more.
   */
  static long promptBound(GenerateRequest request) {
    long bound = TEMPLATE_TOKENS;
    switch (request.getInputCase()) {
      case PROMPT -> bound += request.getPromptBytes().size();
      case CHAT -> {
        for (ChatMessage m : request.getChat().getMessagesList()) {
          bound += m.getRoleBytes().size() + m.getNameBytes().size() + m.getContentBytes().size() + TEMPLATE_TOKENS;
        }
      }
      default -> { }
    }
    return bound;
  }

  /** The tenant policy every call is admitted by (leases reserve in its quotas). */
  TenantPolicy tenants() {
    return tenants;
  }

  /** Whether {@code audit.enabled}: records are written. */
  boolean auditing() {
    return audit != null;
  }

  /** Writes {@code record} when the audit log is on; a failure is logged and metered, never the caller's. */
  void write(AuditRecord record) {
    if (audit == null) {
      return;
    }
    try {
      audit.append(record);
    } catch (RuntimeException e) {
      metrics.auditFailed();
      log.error("audit record of request {} not written", record.requestId(), e);
    }
  }

  Clock clock() {
    return clock;
  }

  /** Closes the audit log (puts what was written on disk). */
  @Override
  public void close() throws IOException {
    if (audit != null) {
      audit.close();
    }
  }

  @Override
  public String toString() {
    return "Governance[audit " + (audit == null ? "off" : "on") + ", tenants "
        + (tenants.enforced() ? "enforced" : "not enforced") + "]";
  }
}
