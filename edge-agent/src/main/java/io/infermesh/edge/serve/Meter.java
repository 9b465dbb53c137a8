package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.quota.QuotaLedger;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What one admitted request holds in its tenant's token quotas ({@link QuotaLedger}): the
 * reservation taken at admission ({@code prompt + max_tokens}, the worst case) and the tokens its
 * generations really used, edge and core, added as each one ends ({@link Accounting}). {@link
 * #settle} replaces the reservation with that usage once, when the request ends: answered, failed or
 * cancelled. A request that ended without any generation reporting its usage (cancelled
 * mid-answer) is charged its prompt and the pieces its client was sent, so cancelling cannot make
 * tokens free. A request answered from a lease while the core is away also settles its lease's hold
 * ({@link #and}) with the same usage. Thread-safe.
 */
final class Meter {
  /** A request under no token quota: adds and settles nothing. */
  static final Meter NONE = new Meter(List.of(), 0);

  /** One budget the request holds tokens in, told what it used when the request ends. */
  interface Settlement {
    void settle(long usedTokens);
  }

  private final List<Settlement> settlements;
  private final long promptTokens;
  private final AtomicLong used = new AtomicLong();
  private final AtomicBoolean settled = new AtomicBoolean();

  private Meter(List<Settlement> settlements, long promptTokens) {
    this.settlements = List.copyOf(settlements);
    this.promptTokens = promptTokens;
  }

  /** The meter of {@code reservation}, taken in {@code ledger} for a prompt of {@code promptTokens}. */
  static Meter of(QuotaLedger ledger, QuotaLedger.Reservation reservation, long promptTokens) {
    requireNonNull(ledger, "ledger");
    requireNonNull(reservation, "reservation");
    return new Meter(List.of(used -> ledger.settle(reservation, used)), promptTokens);
  }

  /**
   * This meter, not yet used, also settling {@code other} (a lease's hold) with the same usage; a
   * prompt of {@code promptTokens}.
   */
  Meter and(Settlement other, long prompt) {
    requireNonNull(other, "other");
    List<Settlement> all = new ArrayList<>(settlements);
    all.add(other);
    return new Meter(all, prompt);
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
    if (settlements.isEmpty() || !settled.compareAndSet(false, true)) {
      return;
    }
    long reported = used.get();
    long charged = reported > 0 ? reported : promptTokens + piecesSent;
    for (Settlement s : settlements) {
      s.settle(charged);
    }
  }

  /** Releases every reservation with nothing used: the request was refused before it ran. */
  void release() {
    if (settlements.isEmpty() || !settled.compareAndSet(false, true)) {
      return;
    }
    for (Settlement s : settlements) {
      s.settle(0);
    }
  }
}
