package io.infermesh.core.lease;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.google.protobuf.ByteString;
import io.infermesh.api.v1.Lease;
import io.infermesh.api.v1.SignedLease;
import io.infermesh.api.v1.SpendReceipt;
import io.infermesh.certs.MeshSignatures;
import io.infermesh.certs.SpiffeId;
import io.infermesh.core.config.Leases;
import io.infermesh.core.status.CoreException;
import io.infermesh.node.quota.QuotaDecision;
import io.infermesh.node.quota.QuotaLedger;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The leases this core granted, and what their devices reported spending.
 *
 * <p><b>Grant.</b> A device asks for {@code tokens} for a tenant; it gets at most {@code
 * leases.max_tokens_per_grant}, valid for {@code leases.validity} (never past the signing
 * certificate's own expiry), bound to the SPIFFE ID of its client certificate. The whole grant is
 * reserved in the tenant's day and month quotas first (refused, RESOURCE_EXHAUSTED naming the
 * quota, when they cannot cover it), so the tokens a device may spend offline are never promised
 * twice. A device holds at most {@code leases.max_open_per_device} unexpired leases per tenant.
 *
 * <p><b>Report.</b> A device reports the cumulative tokens spent from a lease with a sequence
 * number. A sequence not above the last one counted is a replay: answered with the totals, nothing
 * charged. Otherwise the increase is drawn from the lease's reservation ({@link QuotaLedger#draw}):
 * charged to the tenant now. A lease closes — its unspent rest released to the tenant's quota —
 * when it is fully spent, or at a report that arrives {@code leases.clock_skew} after it expired
 * (the device cannot spend from it any more, even with a slow clock). A lease that is never
 * reported stays reserved: the core cannot know what the device spent, so it assumes all of it.
 *
 * <p>State lives in memory, like the quotas it reserves: a restart forgets both. Thread-safe: one
 * lock; each call is O(leases of the device) at most.
 */
public final class LeaseBook {
  /** The longest tenant name a grant may carry, in UTF-8 bytes. */
  public static final int MAX_TENANT_BYTES = 128;

  private final Leases config;
  private final Optional<QuotaLedger> quotas;
  private final MeshSignatures.Signer signer;
  private final Clock clock;
  private final Object lock = new Object();
  @GuardedBy("lock")
  private final Map<String, Account> accounts = new HashMap<>();

  /** One granted lease and what was reported of it. */
  private static final class Account {
    final SpiffeId device;
    final String tenant;
    final long tokens;
    final Instant notAfter;
    QuotaLedger.Reservation reservation; // null without quotas, or once closed
    long sequence;
    long charged;
    boolean closed;

    Account(SpiffeId device, String tenant, long tokens, Instant notAfter, QuotaLedger.Reservation reservation) {
      this.device = device;
      this.tenant = tenant;
      this.tokens = tokens;
      this.notAfter = notAfter;
      this.reservation = reservation;
    }
  }

  private LeaseBook(Leases config, Optional<QuotaLedger> quotas, MeshSignatures.Signer signer, Clock clock) {
    this.config = requireNonNull(config, "config");
    this.quotas = requireNonNull(quotas, "quotas");
    this.signer = requireNonNull(signer, "signer");
    this.clock = requireNonNull(clock, "clock");
  }

  /**
   * The book of {@code config}'s leases, signed by {@code signer}, reserving in {@code quotas} (empty:
   * tenants have no quotas to reserve in), timed by {@code clock}.
   */
  public static LeaseBook of(Leases config, Optional<QuotaLedger> quotas, MeshSignatures.Signer signer, Clock clock) {
    return new LeaseBook(config, quotas, signer, clock);
  }

  /** Who signs the leases. */
  public SpiffeId issuer() {
    return signer.identity();
  }

  /**
   * Grants {@code device} a lease for {@code tenant}.
   *
   * @throws CoreException INVALID_ARGUMENT naming {@code tenant} or {@code tokens}; RESOURCE_EXHAUSTED
   *     when the tenant's quota cannot cover it or the device holds its most leases for the tenant
   */
  public SignedLease grant(SpiffeId device, String tenant, long tokens) {
    requireNonNull(device, "device");
    requireNonNull(tenant, "tenant");
    if (tenant.isEmpty() || tenant.getBytes(StandardCharsets.UTF_8).length > MAX_TENANT_BYTES) {
      throw CoreException.invalidArgument("tenant", "must be 1 to " + MAX_TENANT_BYTES + " bytes");
    }
    if (tokens < 1) {
      throw CoreException.invalidArgument("tokens", "must be at least 1, got " + tokens);
    }
    long granted = Math.min(tokens, config.maxTokensPerGrant());
    Instant now = clock.instant();
    Instant notAfter = now.plus(config.validity());
    if (notAfter.isAfter(signer.notAfter())) {
      notAfter = signer.notAfter(); // a lease must verify for as long as it is valid
    }
    if (!notAfter.isAfter(now)) {
      throw CoreException.of(CoreException.Kind.FAILED_PRECONDITION, "the lease-signing certificate has expired");
    }
    synchronized (lock) {
      forgetOldLocked(now);
      long open = accounts.values().stream()
          .filter(a -> a.device.equals(device) && a.tenant.equals(tenant) && a.notAfter.isAfter(now)).count();
      if (open >= config.maxOpenPerDevice()) {
        throw CoreException.resourceExhausted("device " + device + " holds " + open + " unexpired leases for tenant "
            + tenant + ", the most leases.max_open_per_device allows; report and let one expire first",
            config.validity().toMillis());
      }
      QuotaLedger.Reservation reservation = null;
      if (quotas.isPresent()) {
        QuotaDecision d = quotas.get().reserve(tenant, 0, granted);
        if (d instanceof QuotaDecision.Refused r) {
          throw CoreException.resourceExhausted("tenant " + tenant + ": a lease of " + granted + " tokens: "
              + r.message(), r.retryAfter().toMillis());
        }
        reservation = ((QuotaDecision.Admitted) d).reservation();
      }
      Lease lease = Lease.newBuilder()
          .setLeaseId(UUID.randomUUID().toString())
          .setTenant(tenant)
          .setTokens(granted)
          .setIssuedAtMs(now.toEpochMilli())
          .setNotAfterMs(notAfter.toEpochMilli())
          .setDevice(device.toString())
          .setIssuer(signer.identity().toString())
          .build();
      byte[] bytes = lease.toByteArray();
      SignedLease signed = SignedLease.newBuilder()
          .setLease(ByteString.copyFrom(bytes))
          .setSignature(ByteString.copyFrom(signer.sign(bytes)))
          .setAlgorithm(signer.algorithm())
          .addAllCertificateChain(signer.certificateChain().stream().map(ByteString::copyFrom)
              .toList())
          .build();
      accounts.put(lease.getLeaseId(), new Account(device, tenant, granted, Instant.ofEpochMilli(lease.getNotAfterMs()),
          reservation));
      return signed;
    }
  }

  /**
   * Counts {@code device}'s report that it spent {@code tokensSpent} from lease {@code leaseId} in
   * all, as report number {@code sequence}.
   *
   * @throws CoreException NOT_FOUND for a lease this core does not know; PERMISSION_DENIED for another
   *     device's lease; INVALID_ARGUMENT for a sequence below 1, a spend that goes down or past the lease
   */
  public SpendReceipt report(SpiffeId device, String leaseId, long sequence, long tokensSpent) {
    requireNonNull(device, "device");
    requireNonNull(leaseId, "leaseId");
    Instant now = clock.instant();
    synchronized (lock) {
      Account a = accounts.get(leaseId);
      if (a == null) {
        throw CoreException.of(CoreException.Kind.NOT_FOUND, "lease " + bounded(leaseId) + " is not known here");
      }
      if (!a.device.equals(device)) {
        throw CoreException.of(CoreException.Kind.PERMISSION_DENIED, "lease " + leaseId + " was granted to another "
            + "device");
      }
      if (sequence < 1) {
        throw CoreException.invalidArgument("sequence", "must be at least 1, got " + sequence);
      }
      if (sequence <= a.sequence) {
        return receipt(a, true);
      }
      if (tokensSpent < a.charged || tokensSpent > a.tokens) {
        throw CoreException.invalidArgument("tokens_spent", "must be from " + a.charged + " (already charged) to "
            + a.tokens + " (the lease), got " + tokensSpent);
      }
      if (a.closed && tokensSpent > a.charged) {
        throw CoreException.invalidArgument("tokens_spent", "lease " + leaseId + " closed at " + a.charged
            + " tokens spent; nothing may be spent from it after it expired");
      }
      long more = tokensSpent - a.charged;
      if (a.reservation != null && more > 0) {
        a.reservation = quotas.orElseThrow().draw(a.reservation, more);
      }
      a.charged = tokensSpent;
      a.sequence = sequence;
      if (!a.closed && (a.charged == a.tokens || now.isAfter(a.notAfter.plus(config.clockSkew())))) {
        close(a);
      }
      return receipt(a, false);
    }
  }

  private void close(Account a) {
    if (a.reservation != null) {
      quotas.orElseThrow().settle(a.reservation, 0); // the unspent rest goes back to the tenant
      a.reservation = null;
    }
    a.closed = true;
  }

  /** Drops closed leases a validity past their expiry: their devices have long forgotten them. */
  @GuardedBy("lock")
  private void forgetOldLocked(Instant now) {
    for (Iterator<Account> it = accounts.values().iterator(); it.hasNext();) {
      Account a = it.next();
      if (a.closed && now.isAfter(a.notAfter.plus(config.validity()).plus(config.clockSkew()))) {
        it.remove();
      }
    }
  }

  /** Leases granted and not yet forgotten. */
  public int size() {
    synchronized (lock) {
      return accounts.size();
    }
  }

  private static SpendReceipt receipt(Account a, boolean replay) {
    return SpendReceipt.newBuilder().setSequence(a.sequence).setTokensCharged(a.charged).setReplay(replay)
        .setClosed(a.closed).build();
  }

  private static String bounded(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "…";
  }
}
