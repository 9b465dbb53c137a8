package io.infermesh.core.tenant;

import static java.util.Objects.requireNonNull;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.EstimationProbe;
import io.github.bucket4j.TimeMeter;
import io.infermesh.certs.SpiffeId;
import io.infermesh.core.config.Tenants;
import io.infermesh.node.quota.QuotaDecision;
import io.infermesh.node.quota.QuotaLedger;
import io.infermesh.node.quota.QuotaWindow;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Who may name a request's tenant, and whether the tenant is within its limits, decided once per
 * call before any engine is asked.
 *
 * <p><b>Vouching.</b> The tenant a request names is trusted only from a caller whose SPIFFE role is
 * in {@code tenants.vouch.roles} (edge and gateway by default: they resolved it from an API key or a
 * token) or whose SPIFFE ID is in {@code tenants.vouch.ids}; from anyone else a non-empty tenant is
 * refused ({@link TenantDecision.NotVouched}), never silently replaced. A request naming no tenant is
 * billed to {@link #DEFAULT_TENANT}.
 *
 * <p><b>Limits</b>, each 0 for none, checked in this order: requests per minute (a Bucket4j bucket,
 * the request counted when admitted), tokens per minute (a bucket charged with each call's real
 * prompt + completion tokens when it ends; a tenant in debt waits it out, as on the edge), then the
 * day and month quotas through the {@link QuotaLedger}: the worst case ({@code prompt + max_tokens
 * × n}) is reserved at admission and replaced by the real usage when the call ends, so concurrent
 * calls cannot overdraw a quota. Tenants not listed get {@code tenants.default}'s limits, each its
 * own budget.
 *
 * <p>With {@code tenants.enforce: false} every call is admitted with an {@linkplain
 * TenantTab#unlimited unlimited tab}. Usage lives in memory (a restart forgets it) and per tenant
 * name a vouching caller sent; vouching callers are trusted mesh members. Thread-safe.
 */
public final class TenantPolicy {
  /** The tenant of a request that names none. */
  public static final String DEFAULT_TENANT = "default";

  private final Tenants config;
  private final QuotaLedger ledger;
  private final TimeMeter time;
  private final ConcurrentMap<String, Bucket> requests = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Bucket> tokens = new ConcurrentHashMap<>();

  private TenantPolicy(Tenants config, Clock clock) {
    this.config = requireNonNull(config, "config");
    requireNonNull(clock, "clock");
    QuotaLedger.Builder b = QuotaLedger.builder(clock);
    quotas(config.defaults(), (w, n) -> b.defaultLimit(w, n));
    for (Map.Entry<String, Tenants.Limits> t : config.tenants().entrySet()) {
      b.own(t.getKey()); // its own quotas (maybe none), never the defaults
      quotas(t.getValue(), (w, n) -> b.limit(t.getKey(), w, n));
    }
    this.ledger = b.build();
    this.time = new TimeMeter() {
      @Override
      public long currentTimeNanos() {
        Instant now = clock.instant();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
      }

      @Override
      public boolean isWallClockBased() {
        return true;
      }
    };
  }

  /** The policy of {@code config}, timed by {@code clock} (windows, buckets and quotas alike). */
  public static TenantPolicy of(Tenants config, Clock clock) {
    return new TenantPolicy(config, clock);
  }

  private interface QuotaSink {
    void limit(QuotaWindow window, long tokens);
  }

  private static void quotas(Tenants.Limits l, QuotaSink sink) {
    if (l.tokensPerDay() > 0) {
      sink.limit(QuotaWindow.DAY, l.tokensPerDay());
    }
    if (l.tokensPerMonth() > 0) {
      sink.limit(QuotaWindow.MONTH, l.tokensPerMonth());
    }
  }

  /** Whether limits are enforced at all. */
  public boolean enforced() {
    return config.enforce();
  }

  /**
   * Decides one call.
   *
   * @param caller the caller's identity from its certificate (empty: none known)
   * @param tenant the request's {@code tenant} field (empty: none named)
   * @param promptTokens the prompt's tokens, or an upper bound of them
   * @param maxTokens the most tokens the call may generate, over all its choices
   */
  public TenantDecision admit(Optional<SpiffeId> caller, String tenant, long promptTokens, long maxTokens) {
    requireNonNull(caller, "caller");
    requireNonNull(tenant, "tenant");
    String billed = tenant.isEmpty() ? DEFAULT_TENANT : tenant;
    if (!config.enforce()) {
      return new TenantDecision.Admitted(TenantTab.unlimited(billed));
    }
    if (!tenant.isEmpty() && !vouches(caller)) {
      return new TenantDecision.NotVouched(caller.map(SpiffeId::toString).orElse(""), tenant);
    }
    Tenants.Limits limits = config.limits(billed);
    if (limits.requestsPerMinute() > 0) {
      ConsumptionProbe p = requests.computeIfAbsent(billed, t -> bucket(limits.requestsPerMinute()))
          .tryConsumeAndReturnRemaining(1);
      if (!p.isConsumed()) {
        return limited(billed, "requests_per_minute", "the requests_per_minute limit of " + limits.requestsPerMinute()
            + " is reached", p.getNanosToWaitForRefill());
      }
    }
    if (limits.tokensPerMinute() > 0) {
      EstimationProbe p = tokens.computeIfAbsent(billed, t -> bucket(limits.tokensPerMinute()))
          .estimateAbilityToConsume(1);
      if (!p.canBeConsumed()) {
        return limited(billed, "tokens_per_minute", "the tokens_per_minute limit of " + limits.tokensPerMinute()
            + " is spent", p.getNanosToWaitForRefill());
      }
    }
    QuotaDecision d = ledger.reserve(billed, promptTokens, maxTokens);
    if (d instanceof QuotaDecision.Refused r) {
      return limited(billed, r.window().quotaName(), r.message(), r.retryAfter().toNanos());
    }
    QuotaLedger.Reservation reservation = ((QuotaDecision.Admitted) d).reservation();
    return new TenantDecision.Admitted(new TenantTab(billed, "ok", ledger, reservation, used -> {
      if (limits.tokensPerMinute() > 0 && used > 0) {
        tokens.computeIfAbsent(billed, t -> bucket(limits.tokensPerMinute())).consumeIgnoringRateLimits(used);
      }
    }));
  }

  /** Tokens settled in {@code tenant}'s current {@code window}, when a quota of that window applies to it. */
  public OptionalLong used(String tenant, QuotaWindow window) {
    return ledger.used(tenant, window);
  }

  /**
   * The quota ledger of the day and month quotas, when limits are enforced: leases granted to edge
   * devices are reserved in it, so calls and leases share one budget. Empty with {@code enforce: false}.
   */
  public Optional<QuotaLedger> quotas() {
    return config.enforce() ? Optional.of(ledger) : Optional.empty();
  }

  /** Whether {@code caller} may name the tenant it acts for ({@code tenants.vouch}); always with {@code enforce: false}. */
  public boolean mayVouch(Optional<SpiffeId> caller) {
    return !config.enforce() || vouches(caller);
  }

  private boolean vouches(Optional<SpiffeId> caller) {
    return caller.map(id -> config.vouchRoles().contains(id.role()) || config.vouchIds().contains(id)).orElse(false);
  }

  private static TenantDecision.Limited limited(String tenant, String limit, String message, long waitNanos) {
    long millis = Math.max(1, (waitNanos + 999_999) / 1_000_000); // rounded up: a retry then fits
    return new TenantDecision.Limited(tenant, limit, message, Duration.ofMillis(millis));
  }

  private Bucket bucket(long perMinute) {
    return Bucket.builder()
        .addLimit(limit -> limit.capacity(perMinute).refillGreedy(perMinute, Duration.ofMinutes(1)))
        .withCustomTimePrecision(time)
        .build();
  }
}
