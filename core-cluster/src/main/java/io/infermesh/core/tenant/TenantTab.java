package io.infermesh.core.tenant;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.quota.QuotaLedger;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongConsumer;

/**
 * One admitted call's account with its tenant: the quota reservation taken at admission, replaced
 * by the tokens really used when the call ends ({@link #settle}), which also count against the
 * tenant's tokens per minute. Thread-safe; settles once, later calls are ignored (a call's end can
 * be heard from more than one place).
 */
public final class TenantTab {
  private final String tenant;
  private final String quota;
  private final QuotaLedger ledger; // null: no quota applies
  private final QuotaLedger.Reservation reservation; // null with ledger
  private final LongConsumer perMinute;
  private final AtomicBoolean settled = new AtomicBoolean();

  TenantTab(String tenant, String quota, QuotaLedger ledger, QuotaLedger.Reservation reservation,
      LongConsumer perMinute) {
    this.tenant = requireNonNull(tenant, "tenant");
    this.quota = requireNonNull(quota, "quota");
    this.ledger = ledger;
    this.reservation = reservation;
    this.perMinute = requireNonNull(perMinute, "perMinute");
  }

  /** A tab for a call no limit applies to ({@code tenants.enforce: false}). */
  public static TenantTab unlimited(String tenant) {
    return new TenantTab(tenant, "", null, null, tokens -> {});
  }

  /** The tenant the call is billed to ({@link TenantPolicy#DEFAULT_TENANT} when the request named none). */
  public String tenant() {
    return tenant;
  }

  /** The quota outcome for the audit log: {@code ok} when limits were checked, empty when none apply. */
  public String quota() {
    return quota;
  }

  /** Tokens reserved at admission (0 when no quota applies). */
  public long reserved() {
    return reservation == null ? 0 : reservation.tokens();
  }

  /**
   * Charges the {@code usedTokens} (prompt + completion) the call really used, 0 when it failed
   * before the engine saw it. Only the first call counts.
   *
   * @return whether this call settled the tab
   */
  public boolean settle(long usedTokens) {
    if (usedTokens < 0) {
      throw new IllegalArgumentException("used tokens must not be negative, got " + usedTokens);
    }
    if (!settled.compareAndSet(false, true)) {
      return false;
    }
    if (ledger != null) {
      ledger.settle(reservation, usedTokens);
    }
    perMinute.accept(usedTokens);
    return true;
  }
}
