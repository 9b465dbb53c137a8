package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.quota.QuotaLedger;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What one admitted request holds in its tenant's token quotas ({@link QuotaLedger}): the
 * reservation taken at admission ({@code prompt + max_tokens}, the worst case) and the tokens its
 * generations really used, edge and core, added as each one ends ({@link Accounting}). {@link
 * #settle} replaces the reservation with that usage once, when the request ends: answered, failed or
 * cancelled. A request that ended without any generation reporting its usage (cancelled
 * mid-answer) is charged its prompt and the pieces its client was sent, so cancelling cannot make
 * tokens free. Thread-safe.
 */
final class Meter {
  /** A request under no token quota: adds and settles nothing. */
  static final Meter NONE = new Meter(null, null, 0);

  private final QuotaLedger ledger;
  private final QuotaLedger.Reservation reservation;
  private final long promptTokens;
  private final AtomicLong used = new AtomicLong();
  private final AtomicBoolean settled = new AtomicBoolean();

  private Meter(QuotaLedger ledger, QuotaLedger.Reservation reservation, long promptTokens) {
    this.ledger = ledger;
    this.reservation = reservation;
    this.promptTokens = promptTokens;
  }

  /** The meter of {@code reservation}, taken in {@code ledger} for a prompt of {@code promptTokens}. */
  static Meter of(QuotaLedger ledger, QuotaLedger.Reservation reservation, long promptTokens) {
    return new Meter(requireNonNull(ledger, "ledger"), requireNonNull(reservation, "reservation"), promptTokens);
  }

  /** Tokens one of the request's generations used (prompt and completion). */
  void add(long tokens) {
    used.addAndGet(tokens);
  }

  /** Tokens used so far. */
  long used() {
    return used.get();
  }

  /**
   * Settles the reservation; at most once, later calls do nothing.
   *
   * @param piecesSent answer pieces the client was sent: the floor of a usage no generation reported
   */
  void settle(long piecesSent) {
    if (ledger == null || !settled.compareAndSet(false, true)) {
      return;
    }
    long reported = used.get();
    ledger.settle(reservation, reported > 0 ? reported : promptTokens + piecesSent);
  }
}
