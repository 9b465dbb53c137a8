package io.infermesh.core.tenant;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/** What {@link TenantPolicy#admit} decided: a tab to settle when the call ends, or a refusal. */
public sealed interface TenantDecision {

  /** Admitted; settle {@code tab} when the call ends, whatever its outcome. */
  record Admitted(TenantTab tab) implements TenantDecision {
    public Admitted {
      requireNonNull(tab, "tab");
    }
  }

  /**
   * The caller may not name a tenant: its identity cannot vouch for one.
   *
   * @param caller the caller's SPIFFE ID, or empty when it has none
   * @param tenant the tenant it named
   */
  record NotVouched(String caller, String tenant) implements TenantDecision {
    public NotVouched {
      requireNonNull(caller, "caller");
      requireNonNull(tenant, "tenant");
    }

    /** Safe for the client: names the field and who may set it, not the configuration. */
    public String message() {
      return "tenant: this caller may not name a tenant (only identities allowed to vouch for tenants may);"
          + " leave it empty";
    }
  }

  /**
   * Over a limit.
   *
   * @param tenant the tenant
   * @param limit the limit's name: {@code requests_per_minute}, {@code tokens_per_minute}, {@code
   *     tokens_per_day} or {@code tokens_per_month}
   * @param message safe for the client: the limit, and for quotas the usage and the reset time
   * @param retryAfter when a retry may fit (at least 1 ms)
   */
  record Limited(String tenant, String limit, String message, Duration retryAfter) implements TenantDecision {
    public Limited {
      requireNonNull(tenant, "tenant");
      requireNonNull(limit, "limit");
      requireNonNull(message, "message");
      requireNonNull(retryAfter, "retryAfter");
    }
  }
}
