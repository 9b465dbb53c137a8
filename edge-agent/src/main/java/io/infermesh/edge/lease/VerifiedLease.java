package io.infermesh.edge.lease;

import static java.util.Objects.requireNonNull;

import io.infermesh.api.v1.SignedLease;
import io.infermesh.certs.SpiffeId;
import java.time.Instant;

/**
 * A lease whose signature, signer, device and fields were checked by a {@link LeaseVerifier}.
 *
 * @param id the lease id
 * @param tenant the tenant its tokens are for
 * @param tokens the most tokens it allows
 * @param notAfter when it stops being spendable
 * @param device the device it is bound to (this one)
 * @param issuer the core that signed it
 * @param signed the lease as the core sent it, kept to re-verify after a restart
 */
public record VerifiedLease(String id, String tenant, long tokens, Instant notAfter, SpiffeId device, SpiffeId issuer,
    SignedLease signed) {
  public VerifiedLease {
    requireNonNull(id, "id");
    requireNonNull(tenant, "tenant");
    requireNonNull(notAfter, "notAfter");
    requireNonNull(device, "device");
    requireNonNull(issuer, "issuer");
    requireNonNull(signed, "signed");
  }

  /** Whether tokens may still be spent from it at {@code now}. */
  public boolean validAt(Instant now) {
    return now.isBefore(notAfter);
  }
}
