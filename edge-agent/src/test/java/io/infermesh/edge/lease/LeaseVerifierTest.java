package io.infermesh.edge.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.infermesh.api.v1.Lease;
import io.infermesh.api.v1.SignedLease;
import io.infermesh.certs.MeshSignatures;
import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeaseVerifierTest {
  @TempDir
  Path dir;
  private TestLeases leases;
  private final Instant inAnHour = Instant.now().plus(Duration.ofHours(1));

  @BeforeEach
  void setUp() throws Exception {
    leases = new TestLeases(dir.resolve("mesh"));
  }

  @Test
  void verifyNew_signedByTheMeshCoreForThisDevice_isAccepted() throws Exception {
    SignedLease signed = leases.sign(leases.lease("acme", 500, inAnHour).build());

    VerifiedLease lease = leases.verifier().verifyNew(signed, "acme", Instant.now());

    assertThat(lease.tokens()).isEqualTo(500);
    assertThat(lease.device()).isEqualTo(leases.device);
    assertThat(lease.issuer()).isEqualTo(leases.signer.identity());
  }

  @Test
  void verifyNew_tokensRaisedAfterSigning_isRefusedAsForged() throws Exception {
    SignedLease signed = leases.sign(leases.lease("acme", 500, inAnHour).build());
    Lease raised = Lease.parseFrom(signed.getLease()).toBuilder().setTokens(500_000).build();
    SignedLease forged = signed.toBuilder().setLease(ByteString.copyFrom(raised.toByteArray())).build();

    assertThatThrownBy(() -> leases.verifier().verifyNew(forged, "acme", Instant.now()))
        .isInstanceOf(LeaseRefusedException.class).hasMessageContaining("not signed by the mesh");
  }

  @Test
  void verifyNew_signedByACoreOfAnotherCa_isRefusedAsForged() throws Exception {
    MeshSignatures.Signer stranger = MeshSignatures.signer(TestPki.create(dir.resolve("stranger"))
        .issue(Role.CORE, "core-1"));
    SignedLease forged = TestLeases.sign(leases.lease("acme", 500, inAnHour).build(), stranger);

    assertThatThrownBy(() -> leases.verifier().verifyNew(forged, "acme", Instant.now()))
        .isInstanceOf(LeaseRefusedException.class).hasMessageContaining("does not chain to the mesh CA");
  }

  @Test
  void verifyNew_signedByAnEdgeOfTheMesh_isRefused() throws Exception {
    MeshSignatures.Signer edge = MeshSignatures.signer(leases.pki.issue(Role.EDGE, "rogue"));
    SignedLease signed = TestLeases.sign(leases.lease("acme", 500, inAnHour).setIssuer(edge.identity().toString())
        .build(), edge);

    assertThatThrownBy(() -> leases.verifier().verifyNew(signed, "acme", Instant.now()))
        .isInstanceOf(LeaseRefusedException.class).hasMessageContaining("not by a core");
  }

  @Test
  void verifyNew_expired_isRefused() throws Exception {
    Instant now = Instant.now();
    SignedLease signed = leases.sign(leases.lease("acme", 500, now.minusSeconds(1))
        .setIssuedAtMs(now.minusSeconds(30).toEpochMilli()).build());

    assertThatThrownBy(() -> leases.verifier().verifyNew(signed, "acme", Instant.now()))
        .isInstanceOf(LeaseRefusedException.class).hasMessageContaining("expired");
  }

  @Test
  void verifyNew_boundToAnotherDevice_isRefused() throws Exception {
    SignedLease signed = leases.sign(leases.lease("acme", 500, inAnHour)
        .setDevice(leases.pki.idOf(Role.EDGE, "other-shop").toString()).build());

    assertThatThrownBy(() -> leases.verifier().verifyNew(signed, "acme", Instant.now()))
        .isInstanceOf(LeaseRefusedException.class).hasMessageContaining("not to this device");
  }

  @Test
  void verifyNew_forAnotherTenant_isRefused() throws Exception {
    SignedLease signed = leases.sign(leases.lease("globex", 500, inAnHour).build());

    assertThatThrownBy(() -> leases.verifier().verifyNew(signed, "acme", Instant.now()))
        .isInstanceOf(LeaseRefusedException.class).hasMessageContaining("tenant 'globex'");
  }

  @Test
  void verify_issuerNotTheSigner_isRefused() throws Exception {
    SignedLease signed = leases.sign(leases.lease("acme", 500, inAnHour)
        .setIssuer(leases.pki.idOf(Role.CORE, "core-2").toString()).build());

    assertThatThrownBy(() -> leases.verifier().verifyNew(signed, "acme", Instant.now()))
        .isInstanceOf(LeaseRefusedException.class).hasMessageContaining("names issuer");
  }
}
