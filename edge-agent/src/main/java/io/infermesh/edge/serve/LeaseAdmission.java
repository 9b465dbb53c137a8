package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.lease.LeaseWallet;
import io.infermesh.edge.route.Route;
import java.io.IOException;
import java.time.Duration;

/**
 * Admits a request the edge answers because the core cannot be reached ({@code edge-degraded})
 * against its tenant's leases ({@link LeaseWallet}): the worst case (prompt + {@code max_tokens}) is
 * held — durably, before any token is generated — in one valid lease, and settled with the real
 * usage when the request ends, through the job's {@link Meter}. Without a lease that covers it the
 * request is refused with 429, type {@code lease}, naming the tenant. Requests answered by the core,
 * by the edge by choice ({@code edge}) or from the cache spend no lease. Thread-safe.
 */
final class LeaseAdmission {
  /** The error type of a refusal: the budget that ran out. */
  static final String LEASE = "lease";

  private final LeaseWallet wallet;
  private final Duration retryAfter;

  /**
   * @param retryAfter the back-off a refusal suggests: when the edge next tries to reach the core
   */
  LeaseAdmission(LeaseWallet wallet, Duration retryAfter) {
    this.wallet = requireNonNull(wallet, "wallet");
    this.retryAfter = requireNonNull(retryAfter, "retryAfter");
  }

  /**
   * {@code job} also holding its worst case in a lease when {@code plan} serves it degraded.
   *
   * @throws EdgeException RATE_LIMITED ({@code lease}) when no lease covers it; UNAVAILABLE when the
   *     wallet cannot be written (nothing is served that is not on disk first). Either way the job's
   *     other reservations are released.
   */
  Job admit(Job job, Plan plan) {
    if (!(plan instanceof Plan.Local local) || plan.decision().route() != Route.EDGE_DEGRADED) {
      return job;
    }
    long worst = QuotaAdmission.worstCase(plan, job.request().choices());
    LeaseWallet.Spend spend;
    try {
      spend = wallet.reserve(job.tenant().name(), worst);
    } catch (IOException e) {
      job.meter().release();
      throw EdgeException.unavailable("the core cannot be reached and the lease wallet cannot be written ("
          + e.getMessage() + "); retry later");
    }
    if (spend instanceof LeaseWallet.Spend.Refused refused) {
      job.meter().release();
      throw EdgeException.rateLimited(LEASE, "Lease budget exhausted: " + refused.message() + ".", retryAfter);
    }
    LeaseWallet.Hold hold = ((LeaseWallet.Spend.Reserved) spend).hold();
    return job.metered(job.meter().and(used -> wallet.settle(hold, used), local.prompt().tokens()));
  }
}
