package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import io.infermesh.core.tenant.TenantPolicy;
import io.infermesh.core.tenant.TenantTab;
import io.infermesh.node.audit.AuditRecord;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One Generate or Embed call as the tenant's account and the audit log see it: what is known as the
 * call goes (request id, tenant and quota outcome, model), then {@link #end} once, from whichever
 * place hears the end first (the stream's last chunk, a failure, a refusal): it settles the
 * tenant's tab with the tokens really used and writes one audit record — never prompt or answer
 * text. Thread-safe: fields are set before the call can end and read by the one {@link #end} that wins.
 */
final class CallEnd {
  private final Governance governance;
  private final String caller;
  private final String reason;
  private final AtomicBoolean ended = new AtomicBoolean();
  private volatile String requestId;
  private volatile String tenant;
  private volatile String quota = "";
  private volatile TenantTab tab;
  private volatile InferenceBackend.ModelRef model;

  CallEnd(Governance governance, String caller, String requestId, String tenant, String reason) {
    this.governance = requireNonNull(governance, "governance");
    this.caller = requireNonNull(caller, "caller");
    this.requestId = requireNonNull(requestId, "requestId");
    this.tenant = tenant.isEmpty() ? TenantPolicy.DEFAULT_TENANT : tenant;
    this.reason = requireNonNull(reason, "reason");
  }

  /** The id the call is known by once checked (the caller's label, or its own key when it sent none). */
  void requestId(String id) {
    this.requestId = requireNonNull(id, "id");
  }

  void admitted(TenantTab t) {
    this.tab = requireNonNull(t, "t");
    this.tenant = t.tenant();
    this.quota = t.quota();
  }

  /** Refused by the tenant policy: {@code outcome} such as {@code exceeded:tokens_per_day}. */
  void refused(String outcome) {
    this.quota = requireNonNull(outcome, "outcome");
  }

  void model(InferenceBackend.ModelRef m) {
    this.model = requireNonNull(m, "m");
  }

  /**
   * The call ended with {@code code} after using {@code promptTokens} and {@code completionTokens}
   * (what the engine reported; 0 where it saw nothing). Only the first end counts.
   */
  void end(Status.Code code, long promptTokens, long completionTokens) {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    long prompt = Math.max(0, promptTokens);
    long completion = Math.max(0, completionTokens);
    TenantTab t = tab;
    if (t != null) {
      t.settle(prompt + completion);
    }
    if (!governance.auditing()) {
      return;
    }
    InferenceBackend.ModelRef m = model;
    AuditRecord.Builder r = AuditRecord.builder()
        .time(governance.clock().instant())
        .requestId(requestId)
        .tenant(tenant)
        .caller(caller)
        .route("core", reason)
        .tokens(prompt, completion)
        .quota(quota)
        .status(code.name());
    if (m != null) {
      r.model(m.name(), m.version());
    }
    governance.write(r.build());
  }
}
