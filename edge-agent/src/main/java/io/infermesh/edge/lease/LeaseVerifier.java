package io.infermesh.edge.lease;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.infermesh.api.v1.Lease;
import io.infermesh.api.v1.SignedLease;
import io.infermesh.certs.MeshSignatures;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import java.security.SignatureException;
import java.time.Instant;
import java.util.Optional;

/**
 * Checks a lease OFFLINE, with nothing but the mesh CA this device already trusts: the signer's
 * certificate chains to that CA and was valid when the lease was issued, the signer is a core of
 * the same trust domain and is the lease's {@code issuer}, the signature covers the lease bytes,
 * and the lease is bound to this device. At grant time also: for the tenant asked for, and not
 * expired. Immutable; thread-safe.
 */
public final class LeaseVerifier {
  private final MeshSignatures.Verifier signatures;
  private final SpiffeId device;

  private LeaseVerifier(MeshSignatures.Verifier signatures, SpiffeId device) {
    this.signatures = requireNonNull(signatures, "signatures");
    this.device = requireNonNull(device, "device");
  }

  /** The verifier of leases for {@code device}, trusting the mesh CA behind {@code signatures}. */
  public static LeaseVerifier of(MeshSignatures.Verifier signatures, SpiffeId device) {
    return new LeaseVerifier(signatures, device);
  }

  /** The device leases must be bound to. */
  public SpiffeId device() {
    return device;
  }

  /**
   * {@code signed}, checked to be spendable now: {@link #verify(SignedLease, Optional)}, and valid at
   * {@code now} for {@code tenant}.
   *
   * @throws LeaseRefusedException saying which check failed
   */
  public VerifiedLease verifyNew(SignedLease signed, String tenant, Instant now) throws LeaseRefusedException {
    VerifiedLease lease = verify(signed, Optional.empty());
    if (!lease.tenant().equals(tenant)) {
      throw new LeaseRefusedException("lease " + lease.id() + " is for tenant '" + lease.tenant() + "', not '"
          + tenant + "'");
    }
    if (!lease.validAt(now)) {
      throw new LeaseRefusedException("lease " + lease.id() + " expired at " + lease.notAfter());
    }
    return lease;
  }

  /**
   * {@code signed}, with its signature, signer and device checked (not its expiry: an expired lease
   * is still reported).
   *
   * @param at when the signer's certificate must have been valid; empty: when the lease was issued
   * @throws LeaseRefusedException saying which check failed
   */
  public VerifiedLease verify(SignedLease signed, Optional<Instant> at) throws LeaseRefusedException {
    requireNonNull(signed, "signed");
    Lease lease;
    try {
      lease = Lease.parseFrom(signed.getLease());
    } catch (InvalidProtocolBufferException e) {
      throw new LeaseRefusedException("the lease does not parse: " + e.getMessage(), e);
    }
    Instant issued = Instant.ofEpochMilli(lease.getIssuedAtMs());
    SpiffeId signer;
    try {
      signer = signatures.verify(signed.getLease().toByteArray(), signed.getSignature().toByteArray(),
          signed.getAlgorithm(), signed.getCertificateChainList().stream().map(ByteString::toByteArray).toList(),
          at.orElse(issued));
    } catch (SignatureException e) {
      throw new LeaseRefusedException("lease " + lease.getLeaseId() + " is not signed by the mesh: " + e.getMessage(), e);
    }
    if (signer.role() != Role.CORE || !signer.trustDomain().equals(device.trustDomain())) {
      throw new LeaseRefusedException("lease " + lease.getLeaseId() + " is signed by " + signer
          + ", not by a core of " + device.trustDomain());
    }
    if (!lease.getIssuer().equals(signer.toString())) {
      throw new LeaseRefusedException("lease " + lease.getLeaseId() + " names issuer " + lease.getIssuer()
          + " but is signed by " + signer);
    }
    if (!lease.getDevice().equals(device.toString())) {
      throw new LeaseRefusedException("lease " + lease.getLeaseId() + " is bound to " + lease.getDevice()
          + ", not to this device (" + device + ")");
    }
    if (lease.getTokens() < 1 || lease.getLeaseId().isEmpty() || lease.getNotAfterMs() <= lease.getIssuedAtMs()) {
      throw new LeaseRefusedException("lease " + lease.getLeaseId() + " is malformed (tokens " + lease.getTokens()
          + ", validity " + lease.getIssuedAtMs() + ".." + lease.getNotAfterMs() + ")");
    }
    return new VerifiedLease(lease.getLeaseId(), lease.getTenant(), lease.getTokens(),
        Instant.ofEpochMilli(lease.getNotAfterMs()), device, signer, signed);
  }
}
