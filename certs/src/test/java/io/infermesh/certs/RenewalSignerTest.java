package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The signer's rules, without a socket: who may renew what, and what a renewal issues. */
class RenewalSignerTest {
  private static final Duration TTL = Duration.ofMinutes(5);

  @TempDir Path dir;

  @Test
  void renew_ownIdentity_issuesNewKeyAndSerialForTtlWithSameNames() throws Exception {
    TestPki pki = TestPki.create(dir);
    IssuedCertificate current = pki.leaf(Role.EDGE, "edge-1");
    CertificateRenewal renewal = CertificateRenewal.of(current.certificate());

    List<X509Certificate> chain = RenewalSigner.of(pki.ca(), TTL, DenyList.empty())
        .renew(current.spiffeId(), current.certificate(), renewal.request().encoded());
    IssuedCertificate next = renewal.complete(chain, bundle(pki));

    X509Certificate leaf = next.certificate();
    assertThat(next.spiffeId()).isEqualTo(pki.idOf(Role.EDGE, "edge-1"));
    assertThat(leaf.getSerialNumber()).isNotEqualTo(current.certificate().getSerialNumber());
    assertThat(leaf.getPublicKey()).isNotEqualTo(current.certificate().getPublicKey());
    assertThat(leaf.getSubjectAlternativeNames()).containsExactlyInAnyOrderElementsOf(
        current.certificate().getSubjectAlternativeNames());
    Duration validity = Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant());
    assertThat(validity).isEqualTo(TTL.plus(CertificateAuthority.backdate(TTL))); // backdated for clock skew
    assertThat(chain.get(1)).isEqualTo(pki.ca().certificate());
  }

  @Test
  void renew_requestForAnotherIdentity_isRefused() throws Exception {
    TestPki pki = TestPki.create(dir);
    IssuedCertificate caller = pki.leaf(Role.EDGE, "edge-1");
    // the caller's own key, asking for a core identity and for another edge
    for (SpiffeId other : List.of(pki.idOf(Role.CORE, "edge-1"), pki.idOf(Role.EDGE, "edge-2"))) {
      KeyPair keys = Keys.newEcP256(new SecureRandom());
      byte[] der = CertificateSigningRequest.create(other, List.of(), List.of(), keys).encoded();

      assertThatThrownBy(() -> RenewalSigner.of(pki.ca(), TTL, DenyList.empty())
          .renew(caller.spiffeId(), caller.certificate(), der))
          .isInstanceOfSatisfying(RenewalSigner.Refusal.class, r -> {
            assertThat(r.reason()).isEqualTo(RenewalSigner.Refusal.Reason.OTHER_IDENTITY);
            assertThat(r.getMessage()).contains("the request is for " + other, "renews only its own identity");
          });
    }
  }

  @Test
  void renew_requestAddingADnsName_isRefused() throws Exception {
    TestPki pki = TestPki.create(dir);
    IssuedCertificate caller = pki.leaf(Role.EDGE, "edge-1");
    byte[] der = CertificateSigningRequest.create(caller.spiffeId(), List.of("localhost", "core.mesh.test"),
        List.of(), Keys.newEcP256(new SecureRandom())).encoded();

    assertThatThrownBy(() -> RenewalSigner.of(pki.ca(), TTL, DenyList.empty())
        .renew(caller.spiffeId(), caller.certificate(), der))
        .hasMessageContaining("adds the DNS name core.mesh.test");
  }

  @Test
  void renew_tamperedOrGarbageRequest_isMalformed() throws Exception {
    TestPki pki = TestPki.create(dir);
    IssuedCertificate caller = pki.leaf(Role.EDGE, "edge-1");
    byte[] der = CertificateRenewal.of(caller.certificate()).request().encoded();
    byte[] tampered = der.clone();
    tampered[tampered.length - 3] ^= 0x01; // inside the signature: proof of possession fails
    RenewalSigner signer = RenewalSigner.of(pki.ca(), TTL, DenyList.empty());

    for (byte[] bad : List.of(tampered, new byte[] {1, 2, 3}, new byte[0],
        new byte[CertificateSigningRequest.MAX_ENCODED_BYTES + 1])) {
      assertThatThrownBy(() -> signer.renew(caller.spiffeId(), caller.certificate(), bad))
          .isInstanceOfSatisfying(RenewalSigner.Refusal.class,
              r -> assertThat(r.reason()).isEqualTo(RenewalSigner.Refusal.Reason.MALFORMED));
    }
  }

  @Test
  void renew_revokedIdentityOrSerial_isRefused() throws Exception {
    TestPki pki = TestPki.create(dir);
    IssuedCertificate byId = pki.leaf(Role.EDGE, "edge-1");
    IssuedCertificate bySerial = pki.leaf(Role.EDGE, "edge-2");
    Path file = dir.resolve("deny.txt");
    Files.writeString(file, "# stolen\n" + byId.spiffeId() + "\n\nserial:"
        + bySerial.certificate().getSerialNumber().toString(16) + "\n");

    try (DenyList denyList = DenyList.watching(file, Duration.ofMinutes(1))) {
      RenewalSigner signer = RenewalSigner.of(pki.ca(), TTL, denyList);
      for (IssuedCertificate revoked : List.of(byId, bySerial)) {
        byte[] der = CertificateRenewal.of(revoked.certificate()).request().encoded();
        assertThatThrownBy(() -> signer.renew(revoked.spiffeId(), revoked.certificate(), der))
            .isInstanceOfSatisfying(RenewalSigner.Refusal.class, r -> {
              assertThat(r.reason()).isEqualTo(RenewalSigner.Refusal.Reason.REVOKED);
              assertThat(r.getMessage()).contains("is revoked; it cannot be renewed");
            });
      }
      IssuedCertificate other = pki.leaf(Role.EDGE, "edge-3");
      assertThat(signer.renew(other.spiffeId(), other.certificate(),
          CertificateRenewal.of(other.certificate()).request().encoded())).hasSize(2);
    }
  }

  @Test
  void complete_chainForAnotherKey_isRefused() throws Exception {
    TestPki pki = TestPki.create(dir);
    IssuedCertificate current = pki.leaf(Role.EDGE, "edge-1");
    CertificateRenewal renewal = CertificateRenewal.of(current.certificate());

    assertThatThrownBy(() -> renewal.complete(pki.leaf(Role.EDGE, "edge-1").chain(), bundle(pki)))
        .hasMessageContaining("not for the key this renewal generated");
  }

  @Test
  void complete_chainFromAnotherCa_isRefused() throws Exception {
    TestPki pki = TestPki.create(dir.resolve("mesh"));
    TestPki rogue = TestPki.create(dir.resolve("rogue"));
    IssuedCertificate current = pki.leaf(Role.EDGE, "edge-1");
    CertificateRenewal renewal = CertificateRenewal.of(current.certificate());
    List<X509Certificate> rogueChain = RenewalSigner.of(rogue.ca(), TTL, DenyList.empty())
        .renew(current.spiffeId(), current.certificate(), renewal.request().encoded());

    assertThatThrownBy(() -> renewal.complete(rogueChain, bundle(pki)))
        .hasMessageContaining("is not in the trust bundle");
  }

  private static Path bundle(TestPki pki) {
    return pki.caDirectory().resolve(CertificateAuthority.CERTIFICATE_FILE);
  }
}
