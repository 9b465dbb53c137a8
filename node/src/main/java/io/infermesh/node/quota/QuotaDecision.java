package io.infermesh.node.quota;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.time.Instant;

/** The ledger's answer at admission: a reservation to settle later, or a refusal to send as a 429. */
public sealed interface QuotaDecision {
  /** Admitted; settle {@code reservation} when the request ends, whatever its outcome. */
  record Admitted(QuotaLedger.Reservation reservation) implements QuotaDecision {
    public Admitted {
      requireNonNull(reservation, "reservation");
    }
  }

  /**
   * Refused by the first quota that the worst case would overdraw.
   *
   * @param tenant the tenant
   * @param window the quota's window ({@link QuotaWindow#quotaName()} names it in the answer)
   * @param limit the quota
   * @param used tokens already settled in the window
   * @param reserved tokens reserved by requests still running
   * @param requested the worst case asked for (prompt + max_tokens)
   * @param resetsAt when the window ends
   * @param retryAfter from now to {@code resetsAt}, for {@code Retry-After} (whole seconds, rounded up)
   * @param neverFits whether {@code requested} exceeds the quota itself: waiting will not help, a
   *     smaller {@code max_tokens} will
   */
  record Refused(String tenant, QuotaWindow window, long limit, long used, long reserved, long requested,
      Instant resetsAt, Duration retryAfter, boolean neverFits) implements QuotaDecision {
    public Refused {
      requireNonNull(tenant, "tenant");
      requireNonNull(window, "window");
      requireNonNull(resetsAt, "resetsAt");
      requireNonNull(retryAfter, "retryAfter");
    }

    /** A message safe to return to the tenant. */
    public String message() {
      return neverFits
          ? "this request may use " + requested + " tokens, more than the " + window.quotaName() + " quota of "
              + limit + "; lower max_tokens"
          : "the " + window.quotaName() + " quota of " + limit + " tokens would be exceeded (" + used + " used, "
              + reserved + " reserved by running requests, " + requested + " asked); it resets at " + resetsAt;
    }
  }
}
