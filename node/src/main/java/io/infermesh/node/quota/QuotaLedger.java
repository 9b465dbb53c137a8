package io.infermesh.node.quota;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Token quotas per tenant per day and per month, kept so that no request can overdraw one.
 *
 * <p>At admission, {@link #reserve} checks the request's worst case ({@code prompt + max_tokens})
 * against every quota of its tenant: admitted only if {@code used + reserved + worst ≤ limit} holds
 * in all of them, and then reserved in all of them at once. When the request ends — answered, failed
 * or cancelled — {@link #settle} replaces the reservation with the tokens really used. The invariant
 * {@code used + reserved ≤ limit} thus holds at every moment.
 *
 * <p>Windows are calendar days and months in the ledger's zone. When a window ends, {@code used}
 * starts again from 0 and the reservations of running requests move into the new window: a request
 * is charged to the window it ends in, so a request admitted at 23:59 cannot push the next day past
 * its quota either.
 *
 * <p>Usage lives in memory: a restart forgets it (persisting it, or sharing it between edges, is
 * the next step). Thread-safe: one lock; every operation is O(quotas of the tenant).
 */
public final class QuotaLedger {
  private final Clock clock;
  private final ZoneId zone;
  private final Map<String, Map<QuotaWindow, Long>> limits;
  private final Map<QuotaWindow, Long> defaults; // of every tenant without limits of its own
  private final Object lock = new Object();
  @GuardedBy("lock")
  private final Map<String, Map<QuotaWindow, Usage>> usage = new HashMap<>();
  @GuardedBy("lock")
  private final Map<Long, Reservation> open = new HashMap<>();
  @GuardedBy("lock")
  private long nextId = 1;

  /** One window's counters for one tenant. */
  private static final class Usage {
    Instant windowStart;
    long used;
    long reserved;

    Usage(Instant windowStart) {
      this.windowStart = windowStart;
    }
  }

  /**
   * Tokens held for one admitted request until it is settled.
   *
   * @param id unique within the ledger
   * @param tenant the tenant
   * @param tokens the worst case reserved
   */
  public record Reservation(long id, String tenant, long tokens) {}

  private QuotaLedger(Builder b) {
    this.clock = b.clock;
    this.zone = b.zone;
    Map<String, Map<QuotaWindow, Long>> copy = new HashMap<>();
    b.limits.forEach((tenant, windows) -> copy.put(tenant, Map.copyOf(windows)));
    this.limits = Map.copyOf(copy);
    this.defaults = Map.copyOf(b.defaults);
  }

  /** {@code tenant}'s own quotas, else the defaults. */
  private Map<QuotaWindow, Long> limitsOf(String tenant) {
    return limits.getOrDefault(tenant, defaults);
  }

  public static Builder builder(Clock clock) {
    return new Builder(clock);
  }

  /**
   * Reserves {@code promptTokens + maxTokens} for one request of {@code tenant}, or refuses it. A
   * tenant without quotas (neither its own nor defaults) is always admitted (its reservation settles
   * to nothing).
   */
  public QuotaDecision reserve(String tenant, long promptTokens, long maxTokens) {
    requireNonNull(tenant, "tenant");
    if (promptTokens < 0 || maxTokens < 0) {
      throw new IllegalArgumentException("token counts must not be negative, got " + promptTokens + ", " + maxTokens);
    }
    long worst = Math.addExact(promptTokens, maxTokens);
    Map<QuotaWindow, Long> tenantLimits = limitsOf(tenant);
    Instant now = clock.instant();
    synchronized (lock) {
      Map<QuotaWindow, Usage> counters = countersLocked(tenant, now);
      for (QuotaWindow w : QuotaWindow.values()) {
        Long limit = tenantLimits.get(w);
        if (limit == null) {
          continue;
        }
        Usage u = counters.get(w);
        if (u.used + u.reserved + worst > limit) {
          Instant resets = w.end(now, zone);
          Duration wait = Duration.between(now, resets);
          Duration retryAfter = Duration.ofSeconds(wait.getSeconds() + (wait.getNano() > 0 ? 1 : 0));
          return new QuotaDecision.Refused(tenant, w, limit, u.used, u.reserved, worst, resets, retryAfter,
              worst > limit);
        }
      }
      for (QuotaWindow w : tenantLimits.keySet()) {
        counters.get(w).reserved += worst;
      }
      Reservation r = new Reservation(nextId++, tenant, worst);
      open.put(r.id(), r);
      return new QuotaDecision.Admitted(r);
    }
  }

  /**
   * Replaces {@code reservation} with the {@code usedTokens} the request really consumed (0 when it
   * failed before generating). Usage above the reservation — which the engine's {@code max_tokens}
   * bound rules out — is charged in full: it happened.
   *
   * @throws IllegalStateException when the reservation was already settled or is not from this ledger
   */
  public void settle(Reservation reservation, long usedTokens) {
    requireNonNull(reservation, "reservation");
    if (usedTokens < 0) {
      throw new IllegalArgumentException("used tokens must not be negative, got " + usedTokens);
    }
    Instant now = clock.instant();
    synchronized (lock) {
      if (open.remove(reservation.id()) == null) {
        throw new IllegalStateException("reservation " + reservation.id() + " is not open: settled twice?");
      }
      Map<QuotaWindow, Usage> counters = countersLocked(reservation.tenant(), now);
      for (QuotaWindow w : limitsOf(reservation.tenant()).keySet()) {
        Usage u = counters.get(w);
        u.reserved -= reservation.tokens();
        u.used += usedTokens;
      }
    }
  }

  /**
   * Charges {@code usedTokens} of a long-lived {@code reservation} now and keeps the rest reserved: a
   * lease granted to an edge device is reserved whole and drawn down as the device reports what it
   * spent. Usage above what is left is charged in full (it happened) and leaves nothing reserved.
   *
   * @return the reservation of what is left (same id), to draw from or {@link #settle} later
   * @throws IllegalStateException when the reservation was already settled or is not from this ledger
   */
  public Reservation draw(Reservation reservation, long usedTokens) {
    requireNonNull(reservation, "reservation");
    if (usedTokens < 0) {
      throw new IllegalArgumentException("used tokens must not be negative, got " + usedTokens);
    }
    Instant now = clock.instant();
    synchronized (lock) {
      Reservation current = open.get(reservation.id());
      if (current == null || current.tokens() != reservation.tokens()) {
        throw new IllegalStateException("reservation " + reservation.id() + " is not open with "
            + reservation.tokens() + " tokens: drawn from a stale copy?");
      }
      long released = Math.min(usedTokens, current.tokens());
      Map<QuotaWindow, Usage> counters = countersLocked(reservation.tenant(), now);
      for (QuotaWindow w : limitsOf(reservation.tenant()).keySet()) {
        Usage u = counters.get(w);
        u.reserved -= released;
        u.used += usedTokens;
      }
      Reservation rest = new Reservation(current.id(), current.tenant(), current.tokens() - released);
      open.put(rest.id(), rest);
      return rest;
    }
  }

  /** Tokens settled in {@code tenant}'s current {@code window}, when it has that quota. */
  public OptionalLong used(String tenant, QuotaWindow window) {
    requireNonNull(tenant, "tenant");
    requireNonNull(window, "window");
    if (!limitsOf(tenant).containsKey(window)) {
      return OptionalLong.empty();
    }
    synchronized (lock) {
      return OptionalLong.of(countersLocked(tenant, clock.instant()).get(window).used);
    }
  }

  /** Tokens reserved by {@code tenant}'s running requests in its current {@code window}. */
  public OptionalLong reserved(String tenant, QuotaWindow window) {
    requireNonNull(tenant, "tenant");
    requireNonNull(window, "window");
    if (!limitsOf(tenant).containsKey(window)) {
      return OptionalLong.empty();
    }
    synchronized (lock) {
      return OptionalLong.of(countersLocked(tenant, clock.instant()).get(window).reserved);
    }
  }

  /** The tenant's counters, rolled into the windows holding {@code now}. */
  @GuardedBy("lock")
  private Map<QuotaWindow, Usage> countersLocked(String tenant, Instant now) {
    Map<QuotaWindow, Usage> counters = usage.computeIfAbsent(tenant, t -> new EnumMap<>(QuotaWindow.class));
    for (QuotaWindow w : limitsOf(tenant).keySet()) {
      Instant start = w.start(now, zone);
      Usage u = counters.computeIfAbsent(w, k -> new Usage(start));
      if (!u.windowStart.equals(start)) {
        u.windowStart = start; // a new window: usage restarts, running requests' reservations stay
        u.used = 0;
      }
    }
    return counters;
  }

  /** Not thread-safe; build once. */
  public static final class Builder {
    private final Clock clock;
    private ZoneId zone = ZoneOffset.UTC;
    private final Map<String, Map<QuotaWindow, Long>> limits = new HashMap<>();
    private final Map<QuotaWindow, Long> defaults = new EnumMap<>(QuotaWindow.class);

    private Builder(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
    }

    /** The zone whose days and months the windows follow (default UTC). */
    public Builder zone(ZoneId zone) {
      this.zone = requireNonNull(zone, "zone");
      return this;
    }

    /** {@code tenant} may use at most {@code tokens} per {@code window}. */
    public Builder limit(String tenant, QuotaWindow window, long tokens) {
      requireNonNull(tenant, "tenant");
      requireNonNull(window, "window");
      if (tokens < 0) {
        throw new IllegalArgumentException("quota " + window.quotaName() + " of tenant " + tenant
            + " must not be negative, got " + tokens);
      }
      limits.computeIfAbsent(tenant, t -> new EnumMap<>(QuotaWindow.class)).put(window, tokens);
      return this;
    }

    /**
     * {@code tenant} has only the quotas given to it with {@link #limit} (none if none), never the
     * defaults.
     */
    public Builder own(String tenant) {
      limits.computeIfAbsent(requireNonNull(tenant, "tenant"), t -> new EnumMap<>(QuotaWindow.class));
      return this;
    }

    /**
     * Every tenant without limits of its own may use at most {@code tokens} per {@code window}, each
     * tenant counted apart. A tenant given any {@link #limit} has only its own.
     */
    public Builder defaultLimit(QuotaWindow window, long tokens) {
      requireNonNull(window, "window");
      if (tokens < 0) {
        throw new IllegalArgumentException("default quota " + window.quotaName() + " must not be negative, got "
            + tokens);
      }
      defaults.put(window, tokens);
      return this;
    }

    public QuotaLedger build() {
      return new QuotaLedger(this);
    }
  }
}
