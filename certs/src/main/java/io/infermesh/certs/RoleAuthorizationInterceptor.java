package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authorizes every call by the caller's SPIFFE ID: the peer certificate is read from the TLS
 * session ({@link Grpc#TRANSPORT_ATTR_SSL_SESSION}), its trust domain must be this server's and
 * its role must be allowed by the {@link RoleAuthorizationPolicy} for the method. An allowed
 * call runs with the caller's {@link SpiffeId} in the gRPC {@link Context} under {@link
 * #PEER_IDENTITY}.
 *
 * <p>Refusals, with descriptions safe to show a client: no TLS session or no client certificate
 * or no SPIFFE ID → {@code UNAUTHENTICATED}; another trust domain, a role the policy does not
 * allow, or an identity or certificate on the {@link DenyList} (revoked, even while its
 * certificate is still valid) → {@code PERMISSION_DENIED}. The deny list is consulted on every
 * call, so a revocation also stops calls on connections opened before it. Stateless (the deny
 * list reloads itself); thread-safe.
 */
public final class RoleAuthorizationInterceptor implements ServerInterceptor {
  /** The authenticated caller of the current call, set for every call this interceptor allows. */
  public static final Context.Key<SpiffeId> PEER_IDENTITY = Context.key("infermesh-peer-spiffe-id");
  /** The authenticated caller's leaf certificate, set with {@link #PEER_IDENTITY}. */
  public static final Context.Key<X509Certificate> PEER_CERTIFICATE = Context.key("infermesh-peer-certificate");

  private static final Logger log = LoggerFactory.getLogger(RoleAuthorizationInterceptor.class);

  private final String trustDomain;
  private final RoleAuthorizationPolicy policy;
  private final DenyList denyList;

  private RoleAuthorizationInterceptor(String trustDomain, RoleAuthorizationPolicy policy, DenyList denyList) {
    this.trustDomain = SpiffeId.requireValidTrustDomain(trustDomain);
    this.policy = requireNonNull(policy, "policy");
    this.denyList = requireNonNull(denyList, "denyList");
  }

  /** An interceptor for a server in {@code trustDomain} enforcing {@code policy}. */
  public static RoleAuthorizationInterceptor of(String trustDomain, RoleAuthorizationPolicy policy) {
    return new RoleAuthorizationInterceptor(trustDomain, policy, DenyList.empty());
  }

  /**
   * An interceptor for a server in {@code trustDomain} enforcing {@code policy} and refusing the
   * identities and certificates {@code denyList} revokes.
   */
  public static RoleAuthorizationInterceptor of(String trustDomain, RoleAuthorizationPolicy policy,
      DenyList denyList) {
    return new RoleAuthorizationInterceptor(trustDomain, policy, denyList);
  }

  /** The caller of the current call, when this interceptor authorized it. */
  public static Optional<SpiffeId> currentPeer() {
    return Optional.ofNullable(PEER_IDENTITY.get());
  }

  /** The verified leaf certificate of the current call's caller, when this interceptor authorized it. */
  public static Optional<X509Certificate> currentPeerCertificate() {
    return Optional.ofNullable(PEER_CERTIFICATE.get());
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    X509Certificate leaf;
    SpiffeId peer;
    try {
      leaf = peerCertificate(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
      peer = spiffeIdOf(leaf);
    } catch (Refusal refusal) {
      log.info("refused {} from {}: {}", method, call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
          refusal.status.getDescription());
      return refuse(call, refusal.status);
    }
    if (!peer.trustDomain().equals(trustDomain)) {
      log.info("refused {} from {}: trust domain is not {}", method, peer, trustDomain);
      return refuse(call, Status.PERMISSION_DENIED.withDescription(
          "caller " + peer + " is not in this server's trust domain"));
    }
    String revoked = denyList.revocation(peer, leaf).orElse(null);
    if (revoked != null) {
      log.info("refused {} from {}: {}", method, peer, revoked);
      return refuse(call, Status.PERMISSION_DENIED.withDescription(revoked));
    }
    if (!policy.permits(peer.role(), method)) {
      log.info("refused {} from {}: role {} not allowed", method, peer, peer.role());
      return refuse(call, Status.PERMISSION_DENIED.withDescription(
          "role '" + peer.role() + "' may not call " + method));
    }
    return Contexts.interceptCall(Context.current().withValue(PEER_IDENTITY, peer).withValue(PEER_CERTIFICATE, leaf), call, headers, next);
  }

  private static X509Certificate peerCertificate(SSLSession session) throws Refusal {
    if (session == null) {
      throw new Refusal(Status.UNAUTHENTICATED.withDescription("this server requires mutual TLS"));
    }
    Certificate[] certificates;
    try {
      certificates = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      throw new Refusal(Status.UNAUTHENTICATED.withDescription("a client certificate is required"));
    }
    if (certificates.length == 0 || !(certificates[0] instanceof X509Certificate leaf)) {
      throw new Refusal(Status.UNAUTHENTICATED.withDescription("a client X.509 certificate is required"));
    }
    return leaf;
  }

  private static SpiffeId spiffeIdOf(X509Certificate leaf) throws Refusal {
    try {
      return SpiffeId.fromCertificate(leaf);
    } catch (IllegalArgumentException e) {
      throw new Refusal(Status.UNAUTHENTICATED.withDescription(
          "the client certificate carries no mesh SPIFFE ID"));
    }
  }

  private static <ReqT, RespT> ServerCall.Listener<ReqT> refuse(ServerCall<ReqT, RespT> call, Status status) {
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }

  /** Carries a refusal out of {@link #peerCertificate} and {@link #spiffeIdOf}; no stack trace. */
  private static final class Refusal extends Exception {
    private static final long serialVersionUID = 1L;
    final transient Status status;

    Refusal(Status status) {
      super(status.getDescription(), null, false, false);
      this.status = status;
    }
  }

  @Override
  public String toString() {
    return "RoleAuthorizationInterceptor{trustDomain=" + trustDomain + ", " + policy + "}";
  }
}
