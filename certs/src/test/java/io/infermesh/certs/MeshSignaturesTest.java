package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SignatureException;
import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MeshSignaturesTest {
  private static final byte[] DATA = "lease: 100 tokens".getBytes(StandardCharsets.UTF_8);

  @TempDir
  Path dir;

  @Test
  void verify_signedByAMeshCore_returnsTheSignersIdentity() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles core = pki.issue(Role.CORE, "core-1");
    MeshSignatures.Signer signer = MeshSignatures.signer(core);

    SpiffeId who = MeshSignatures.verifier(core.trustBundle()).verify(DATA, signer.sign(DATA), signer.algorithm(),
        signer.certificateChain(), Instant.now());

    assertThat(who).isEqualTo(pki.idOf(Role.CORE, "core-1"));
    assertThat(signer.certificateChain()).hasSize(1); // the CA is not shipped: the verifier has it
  }

  @Test
  void verify_alteredData_isRefused() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles core = pki.issue(Role.CORE, "core-1");
    MeshSignatures.Signer signer = MeshSignatures.signer(core);
    byte[] altered = Arrays.copyOf(DATA, DATA.length);
    altered[altered.length - 1] ^= 1;

    assertThatThrownBy(() -> MeshSignatures.verifier(core.trustBundle()).verify(altered, signer.sign(DATA),
        signer.algorithm(), signer.certificateChain(), Instant.now()))
        .isInstanceOf(SignatureException.class).hasMessageContaining("does not match");
  }

  @Test
  void verify_signerOfAnotherCa_isRefused() throws Exception {
    MeshCredentialFiles ours = TestPki.create(dir.resolve("ours")).issue(Role.EDGE, "edge-1");
    MeshSignatures.Signer stranger = MeshSignatures.signer(TestPki.create(dir.resolve("theirs"))
        .issue(Role.CORE, "core-1"));

    assertThatThrownBy(() -> MeshSignatures.verifier(ours.trustBundle()).verify(DATA, stranger.sign(DATA),
        stranger.algorithm(), stranger.certificateChain(), Instant.now()))
        .isInstanceOf(SignatureException.class).hasMessageContaining("does not chain to the mesh CA");
  }

  @Test
  void verify_afterTheSignersCertificateExpired_isRefused() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles core = pki.issue(Role.CORE, "core-1");
    MeshSignatures.Signer signer = MeshSignatures.signer(core);

    assertThatThrownBy(() -> MeshSignatures.verifier(core.trustBundle()).verify(DATA, signer.sign(DATA),
        signer.algorithm(), signer.certificateChain(), signer.notAfter().plusSeconds(1)))
        .isInstanceOf(SignatureException.class).hasMessageContaining("does not chain");
  }

  @Test
  void verify_unknownAlgorithm_isRefused() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles core = pki.issue(Role.CORE, "core-1");
    MeshSignatures.Signer signer = MeshSignatures.signer(core);

    assertThatThrownBy(() -> MeshSignatures.verifier(core.trustBundle()).verify(DATA, signer.sign(DATA), "NONEwithRSA",
        signer.certificateChain(), Instant.now()))
        .isInstanceOf(SignatureException.class).hasMessageContaining("NONEwithRSA");
  }
}
