package io.infermesh.edge.lease;

import com.google.protobuf.ByteString;
import io.infermesh.api.v1.Lease;
import io.infermesh.api.v1.SignedLease;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshSignatures;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.certs.TestPki;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.UUID;

/** A mesh CA, a core that signs leases the way the core's LeaseBook does, and the device they are for. */
final class TestLeases {
  final TestPki pki;
  final MeshCredentialFiles core;
  final MeshSignatures.Signer signer;
  final SpiffeId device;

  TestLeases(Path dir) throws IOException {
    pki = TestPki.create(dir);
    core = pki.issue(Role.CORE, "core-1");
    signer = MeshSignatures.signer(core);
    device = pki.idOf(Role.EDGE, "shop-42");
  }

  LeaseVerifier verifier() throws IOException {
    return LeaseVerifier.of(MeshSignatures.verifier(core.trustBundle()), device);
  }

  /** A lease for this device, issued now, signed by the core. */
  Lease.Builder lease(String tenant, long tokens, Instant notAfter) {
    return Lease.newBuilder().setLeaseId(UUID.randomUUID().toString()).setTenant(tenant).setTokens(tokens)
        .setIssuedAtMs(Instant.now().toEpochMilli()).setNotAfterMs(notAfter.toEpochMilli())
        .setDevice(device.toString()).setIssuer(signer.identity().toString());
  }

  SignedLease sign(Lease lease) {
    return sign(lease, signer);
  }

  static SignedLease sign(Lease lease, MeshSignatures.Signer by) {
    byte[] bytes = lease.toByteArray();
    return SignedLease.newBuilder().setLease(ByteString.copyFrom(bytes)).setSignature(ByteString.copyFrom(by.sign(bytes)))
        .setAlgorithm(by.algorithm())
        .addAllCertificateChain(by.certificateChain().stream().map(ByteString::copyFrom).toList()).build();
  }

  VerifiedLease verified(String tenant, long tokens, Instant notAfter) throws Exception {
    return verifier().verifyNew(sign(lease(tenant, tokens, notAfter).build()), tenant, Instant.now());
  }
}
