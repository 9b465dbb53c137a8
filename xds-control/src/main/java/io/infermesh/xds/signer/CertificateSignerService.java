package io.infermesh.xds.signer;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.CertificateSignerGrpc;
import io.infermesh.api.v1.RenewRequest;
import io.infermesh.api.v1.RenewResponse;
import io.infermesh.certs.RenewalSigner;
import io.infermesh.certs.RoleAuthorizationInterceptor;
import io.infermesh.certs.SpiffeId;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code infermesh.v1.CertificateSigner} over a {@link RenewalSigner}: the caller's identity and
 * certificate come from the mTLS session as the authorization interceptor verified them, never
 * from the request. Refusals map to the codes {@code certs.proto} documents: a malformed request
 * → {@code INVALID_ARGUMENT}; another identity or a revoked caller → {@code PERMISSION_DENIED}; a CA
 * that cannot sign now → {@code FAILED_PRECONDITION}. Stateless; thread-safe.
 */
final class CertificateSignerService extends CertificateSignerGrpc.CertificateSignerImplBase {
  private static final Logger log = LoggerFactory.getLogger(CertificateSignerService.class);

  private final RenewalSigner signer;

  CertificateSignerService(RenewalSigner signer) {
    this.signer = requireNonNull(signer, "signer");
  }

  @Override
  public void renew(RenewRequest request, StreamObserver<RenewResponse> responses) {
    Optional<SpiffeId> caller = RoleAuthorizationInterceptor.currentPeer();
    Optional<X509Certificate> certificate = RoleAuthorizationInterceptor.currentPeerCertificate();
    if (caller.isEmpty() || certificate.isEmpty()) {
      responses.onError(Status.UNAUTHENTICATED.withDescription("a client certificate is required").asRuntimeException());
      return;
    }
    List<X509Certificate> chain;
    try {
      chain = signer.renew(caller.get(), certificate.get(), request.getCsr().toByteArray());
    } catch (RenewalSigner.Refusal refusal) {
      log.warn("refused to renew {}: {}", caller.get(), refusal.getMessage());
      Status status = refusal.reason() == RenewalSigner.Refusal.Reason.MALFORMED
          ? Status.INVALID_ARGUMENT : Status.PERMISSION_DENIED;
      responses.onError(status.withDescription(refusal.getMessage()).asRuntimeException());
      return;
    } catch (IllegalStateException | IllegalArgumentException e) {
      log.error("cannot renew {}: {}", caller.get(), e.getMessage());
      responses.onError(Status.FAILED_PRECONDITION.withDescription("the signer cannot issue now: " + e.getMessage())
          .asRuntimeException());
      return;
    }
    RenewResponse.Builder response = RenewResponse.newBuilder()
        .setNotAfterUnixMillis(chain.get(0).getNotAfter().getTime());
    try {
      for (X509Certificate c : chain) {
        response.addCertificateChain(ByteString.copyFrom(c.getEncoded()));
      }
    } catch (CertificateEncodingException e) {
      responses.onError(Status.INTERNAL.withDescription("cannot encode the new certificate").asRuntimeException());
      return;
    }
    responses.onNext(response.build());
    responses.onCompleted();
  }
}
