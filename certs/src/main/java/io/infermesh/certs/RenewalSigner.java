package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides and signs certificate renewals: a caller authenticated by its current mesh certificate
 * asks, with a {@link CertificateSigningRequest}, for the next certificate of the same identity.
 *
 * <p>The rules, checked in this order: the request parses and proves possession of its key
 * (else {@link Refusal.Reason#MALFORMED}); the caller's identity and certificate are not on the
 * {@link DenyList} ({@link Refusal.Reason#REVOKED}); the request names exactly the caller's
 * SPIFFE ID, and DNS and IP names that the caller's certificate already has ({@link
 * Refusal.Reason#OTHER_IDENTITY}) — a device renews only itself, never another identity, role or
 * name. The new leaf is valid for the configured validity from the CA clock's now. Which roles may
 * ask at all is the server's {@link RoleAuthorizationPolicy}.
 *
 * <p>Transport-free (the gRPC service wraps it); immutable and thread-safe.
 */
public final class RenewalSigner {
  private static final Logger log = LoggerFactory.getLogger(RenewalSigner.class);

  private final CertificateAuthority ca;
  private final Duration validity;
  private final DenyList denyList;

  private RenewalSigner(CertificateAuthority ca, Duration validity, DenyList denyList) {
    this.ca = requireNonNull(ca, "ca");
    this.validity = Durations.requirePositive(validity, "validity");
    this.denyList = requireNonNull(denyList, "denyList");
  }

  /** Renews with {@code ca}, for {@code validity}, refusing what {@code denyList} revokes. */
  public static RenewalSigner of(CertificateAuthority ca, Duration validity, DenyList denyList) {
    return new RenewalSigner(ca, validity, denyList);
  }

  /** How long a renewed certificate is valid. */
  public Duration validity() {
    return validity;
  }

  /**
   * Signs {@code der} for {@code caller}, whose verified certificate is {@code callerCertificate}.
   *
   * @return the new chain: the leaf, then the CA
   * @throws Refusal saying why nothing was signed (safe to show the caller)
   * @throws IllegalStateException when the CA itself is not valid now
   */
  public List<X509Certificate> renew(SpiffeId caller, X509Certificate callerCertificate, byte[] der)
      throws Refusal {
    requireNonNull(caller, "caller");
    requireNonNull(callerCertificate, "callerCertificate");
    requireNonNull(der, "der");
    CertificateSigningRequest request;
    try {
      request = CertificateSigningRequest.parse(der);
    } catch (IllegalArgumentException e) {
      throw new Refusal(Refusal.Reason.MALFORMED, e.getMessage());
    }
    String revoked = denyList.revocation(caller, callerCertificate).orElse(null);
    if (revoked != null) {
      throw new Refusal(Refusal.Reason.REVOKED, revoked + "; it cannot be renewed");
    }
    if (!request.spiffeId().equals(caller)) {
      throw new Refusal(Refusal.Reason.OTHER_IDENTITY, "the request is for " + request.spiffeId()
          + " but the caller is " + caller + "; a certificate renews only its own identity");
    }
    CertificateNames have;
    try {
      have = CertificateNames.of(callerCertificate);
    } catch (IllegalArgumentException e) {
      throw new Refusal(Refusal.Reason.OTHER_IDENTITY, "the names of the caller's certificate cannot be read");
    }
    Set<String> haveDns = Set.copyOf(have.dnsNames());
    Set<InetAddress> haveIps = Set.copyOf(have.ipAddresses());
    for (String dns : request.dnsNames()) {
      if (!haveDns.contains(dns)) {
        throw new Refusal(Refusal.Reason.OTHER_IDENTITY, "the request adds the DNS name " + dns
            + ", which the caller's certificate does not have");
      }
    }
    for (InetAddress ip : request.ipAddresses()) {
      if (!haveIps.contains(ip)) {
        throw new Refusal(Refusal.Reason.OTHER_IDENTITY, "the request adds the IP address " + ip.getHostAddress()
            + ", which the caller's certificate does not have");
      }
    }
    List<X509Certificate> chain = ca.sign(request, validity);
    X509Certificate leaf = chain.get(0);
    log.info("renewed {}: serial {} (was {}), valid until {}", caller, leaf.getSerialNumber().toString(16),
        callerCertificate.getSerialNumber().toString(16), leaf.getNotAfter().toInstant());
    return chain;
  }

  /** Why a renewal was refused; the message is safe to show the caller. */
  public static final class Refusal extends Exception {
    private static final long serialVersionUID = 1L;

    /** The kinds of refusal, each mapping to one gRPC status. */
    public enum Reason {
      /** Not a usable signing request (INVALID_ARGUMENT). */
      MALFORMED,
      /** The caller or its certificate is on the deny list (PERMISSION_DENIED). */
      REVOKED,
      /** The request asks for an identity or names the caller does not hold (PERMISSION_DENIED). */
      OTHER_IDENTITY
    }

    private final Reason reason;

    Refusal(Reason reason, String message) {
      super(message, null, false, false);
      this.reason = reason;
    }

    public Reason reason() {
      return reason;
    }
  }
}
