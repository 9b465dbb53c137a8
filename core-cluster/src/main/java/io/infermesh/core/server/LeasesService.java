package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.GrantRequest;
import io.infermesh.api.v1.LeasesGrpc;
import io.infermesh.api.v1.SignedLease;
import io.infermesh.api.v1.SpendReceipt;
import io.infermesh.api.v1.SpendReport;
import io.infermesh.certs.RoleAuthorizationInterceptor;
import io.infermesh.certs.SpiffeId;
import io.infermesh.core.lease.LeaseBook;
import io.infermesh.core.status.CoreException;
import io.infermesh.core.status.StatusMapping;
import io.infermesh.core.tenant.TenantPolicy;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code infermesh.v1.Leases} over a {@link LeaseBook}: the device a lease is bound to, and the
 * device a report is from, is always the caller's SPIFFE ID from its verified client certificate
 * (never a request field); a caller that may not vouch for tenants ({@code tenants.vouch}) gets no
 * lease. Failures map through {@link StatusMapping}. With {@code leases.enabled: false} every call is
 * FAILED_PRECONDITION. Thread-safe.
 */
final class LeasesService extends LeasesGrpc.LeasesImplBase {
  private static final Logger log = LoggerFactory.getLogger(LeasesService.class);

  private final Optional<LeaseBook> book;
  private final TenantPolicy tenants;
  private final CoreMetrics metrics;

  LeasesService(Optional<LeaseBook> book, TenantPolicy tenants, CoreMetrics metrics) {
    this.book = requireNonNull(book, "book");
    this.tenants = requireNonNull(tenants, "tenants");
    this.metrics = requireNonNull(metrics, "metrics");
  }

  @Override
  public void grant(GrantRequest request, StreamObserver<SignedLease> response) {
    try {
      SpiffeId device = caller();
      if (!tenants.mayVouch(Optional.of(device))) {
        throw CoreException.of(CoreException.Kind.PERMISSION_DENIED, "caller " + device + " may not name a tenant "
            + "(tenants.vouch), so it may not hold a tenant's lease");
      }
      SignedLease lease = open().grant(device, request.getTenant(), request.getTokens());
      metrics.leaseGranted();
      log.info("lease granted to {} for tenant {}", device, request.getTenant());
      response.onNext(lease);
      response.onCompleted();
    } catch (RuntimeException e) {
      response.onError(StatusMapping.toException(e));
    }
  }

  @Override
  public void report(SpendReport request, StreamObserver<SpendReceipt> response) {
    try {
      SpendReceipt receipt = open().report(caller(), request.getLeaseId(), request.getSequence(),
          request.getTokensSpent());
      metrics.leaseReported(receipt.getReplay());
      response.onNext(receipt);
      response.onCompleted();
    } catch (RuntimeException e) {
      response.onError(StatusMapping.toException(e));
    }
  }

  private LeaseBook open() {
    return book.orElseThrow(() -> CoreException.of(CoreException.Kind.FAILED_PRECONDITION,
        "this core grants no leases (leases.enabled is false)"));
  }

  private static SpiffeId caller() {
    return RoleAuthorizationInterceptor.currentPeer().orElseThrow(() -> CoreException.of(
        CoreException.Kind.PERMISSION_DENIED, "no verified client certificate"));
  }
}
