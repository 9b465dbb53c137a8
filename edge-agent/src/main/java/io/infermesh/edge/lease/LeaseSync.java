package io.infermesh.edge.lease;

import static java.util.Objects.requireNonNull;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.GrantRequest;
import io.infermesh.api.v1.LeasesGrpc;
import io.infermesh.api.v1.SignedLease;
import io.infermesh.api.v1.SpendReceipt;
import io.infermesh.api.v1.SpendReport;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.edge.config.Leases;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a {@link LeaseWallet} in step with the core while the core can be reached: every {@code
 * leases.sync_interval}, first reports what each lease spent (cumulative, numbered; a replay's
 * receipt is taken as is), then renews each tenant whose valid leases hold fewer
 * than {@code leases.renew_below} unspent tokens or expire within {@code leases.renew_before}. A
 * grant is verified ({@link LeaseVerifier#verifyNew}) before it enters the wallet. A failed call is
 * logged and retried at the next tick, never fatal: the core being away is why leases exist.
 *
 * <p>Confined to the one scheduler thread it runs on ({@link #syncNow} hands its work there too).
 */
public final class LeaseSync implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LeaseSync.class);
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);

  private final Leases config;
  private final List<String> tenants;
  private final LeaseWallet wallet;
  private final LeaseVerifier verifier;
  private final LeasesGrpc.LeasesBlockingStub stub;
  private final ManagedChannel channel;
  private final ScheduledExecutorService scheduler;
  private final Clock clock;
  private final ScheduledFuture<?> ticks;
  private boolean coreAway; // confined to the scheduler thread: log the core going and coming once each

  private LeaseSync(Leases config, List<String> tenants, LeaseWallet wallet, LeaseVerifier verifier,
      LeasesGrpc.LeasesBlockingStub stub, ManagedChannel channel, ScheduledExecutorService scheduler, Clock clock) {
    this.config = config;
    this.tenants = List.copyOf(tenants);
    this.wallet = wallet;
    this.verifier = verifier;
    this.stub = stub;
    this.channel = channel;
    this.scheduler = scheduler;
    this.clock = clock;
    long period = config.syncInterval().toMillis();
    this.ticks = scheduler.scheduleWithFixedDelay(this::syncQuietly, 0, period, TimeUnit.MILLISECONDS);
  }

  /**
   * Starts syncing {@code wallet} for {@code tenants} with the core at {@code target}, over a channel of
   * its own with this device's mesh identity {@code tls}, on {@code scheduler}.
   */
  public static LeaseSync start(Leases config, List<String> tenants, LeaseWallet wallet, LeaseVerifier verifier,
      String target, MeshTls tls, ScheduledExecutorService scheduler, Clock clock) {
    requireNonNull(target, "target");
    ManagedChannel channel = MeshChannels.newChannel(target, tls, ExpectedIdentity.roles(Role.CORE));
    return new LeaseSync(requireNonNull(config, "config"), tenants, requireNonNull(wallet, "wallet"),
        requireNonNull(verifier, "verifier"), LeasesGrpc.newBlockingStub(channel), channel,
        requireNonNull(scheduler, "scheduler"), requireNonNull(clock, "clock"));
  }

  /** Runs one sync on the scheduler now, and returns when it is done. */
  public void syncNow() throws InterruptedException {
    try {
      scheduler.submit(this::syncQuietly).get(1, TimeUnit.MINUTES);
    } catch (ExecutionException | TimeoutException e) {
      log.warn("lease sync did not finish: {}", e.toString());
    }
  }

  private void syncQuietly() {
    try {
      if (report()) {
        renew();
      }
    } catch (RuntimeException e) {
      log.warn("lease sync failed; retrying in {}", config.syncInterval(), e);
    }
  }

  private LeasesGrpc.LeasesBlockingStub call() {
    return stub.withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Sends each unreported lease's cumulative spend; stops at the first call the core cannot take.
   *
   * @return whether the core could be reached
   */
  private boolean report() {
    for (String id : wallet.unreported()) {
      try {
        Optional<LeaseWallet.Report> next = wallet.nextReport(id);
        if (next.isEmpty()) {
          continue;
        }
        LeaseWallet.Report r = next.get();
        SpendReceipt receipt = call().report(SpendReport.newBuilder().setLeaseId(r.leaseId())
            .setSequence(r.sequence()).setTokensSpent(r.tokensSpent()).build());
        wallet.acknowledged(id, receipt.getSequence(), receipt.getTokensCharged(), receipt.getClosed());
        reached();
        log.debug("lease {}: report {} of {} tokens {}", id, r.sequence(), r.tokensSpent(),
            receipt.getReplay() ? "was a replay" : "counted");
      } catch (StatusRuntimeException e) {
        Status.Code code = e.getStatus().getCode();
        if (code == Status.Code.NOT_FOUND || code == Status.Code.PERMISSION_DENIED
            || code == Status.Code.INVALID_ARGUMENT) {
          log.warn("lease {}: the core refused its report ({}); forgetting it", id, e.getStatus());
          forget(id);
          continue;
        }
        away(e.getStatus());
        return false;
      } catch (IOException e) {
        log.warn("lease {}: the core's receipt could not be written (the report is sent again): {}", id,
            e.getMessage());
        return true;
      }
    }
    return true;
  }

  private void away(Status status) {
    if (!coreAway) {
      coreAway = true;
      log.info("leases: the core cannot be reached ({}); degraded answers spend from the leases held, reports "
          + "and renewals wait", status);
    }
  }

  private void reached() {
    if (coreAway) {
      coreAway = false;
      log.info("leases: the core is back; reporting and renewing");
    }
  }

  private void forget(String id) {
    try {
      wallet.forget(id);
    } catch (IOException e) {
      log.warn("lease {}: not forgotten: {}", id, e.getMessage());
    }
  }

  /** Asks for a new lease for each tenant running low or out of time. */
  private void renew() {
    Instant soon = clock.instant().plus(config.renewBefore());
    for (String tenant : tenants) {
      if (wallet.unspent(tenant) >= Math.max(1, config.renewBelow()) && wallet.validBeyond(tenant, soon)) {
        continue;
      }
      SignedLease signed;
      try {
        signed = call().grant(GrantRequest.newBuilder().setTenant(tenant).setTokens(config.tokensPerGrant()).build());
        reached();
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE
            || e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
          away(e.getStatus());
          return; // the other tenants would fail the same way
        }
        log.warn("no lease for tenant {} now: {}", tenant, e.getStatus());
        continue;
      }
      try {
        VerifiedLease lease = verifier.verifyNew(signed, tenant, clock.instant());
        wallet.add(lease);
        log.info("lease {} for tenant {}: {} tokens until {}", lease.id(), tenant, lease.tokens(), lease.notAfter());
      } catch (LeaseRefusedException e) {
        log.error("the core sent a lease this device refuses: {}", e.getMessage());
      } catch (IOException e) {
        log.warn("lease for tenant {} not kept (wallet not written): {}", tenant, e.getMessage());
      }
    }
  }

  /** Stops the ticks and closes its channel (the scheduler is the caller's). */
  @Override
  public void close() {
    ticks.cancel(false);
    channel.shutdownNow();
  }
}
