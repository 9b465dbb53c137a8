package io.infermesh.core.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.api.v1.Lease;
import io.infermesh.api.v1.SignedLease;
import io.infermesh.api.v1.SpendReceipt;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshSignatures;
import io.infermesh.certs.MutableClock;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.certs.TestPki;
import io.infermesh.core.config.Leases;
import io.infermesh.core.status.CoreException;
import io.infermesh.node.quota.QuotaLedger;
import io.infermesh.node.quota.QuotaWindow;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeaseBookTest {
  private final MutableClock clock = new MutableClock(Instant.now());
  private TestPki pki;
  private MeshCredentialFiles core;
  private SpiffeId device;
  private QuotaLedger quotas;
  private LeaseBook book;

  @BeforeEach
  void setUp(@TempDir Path dir) throws Exception {
    pki = TestPki.create(dir);
    core = pki.issue(Role.CORE, "core-1");
    device = pki.idOf(Role.EDGE, "shop-42");
    quotas = QuotaLedger.builder(clock).limit("acme", QuotaWindow.DAY, 1_000).build();
    book = LeaseBook.of(Leases.builder().enabled(true).maxTokensPerGrant(400).validity(Duration.ofHours(1))
        .clockSkew(Duration.ofMinutes(5)).maxOpenPerDevice(2).build(), Optional.of(quotas),
        MeshSignatures.signer(core), clock);
  }

  private static Lease parsed(SignedLease signed) throws Exception {
    return Lease.parseFrom(signed.getLease());
  }

  @Test
  void grant_boundToTheCallerAndSigned_verifiesAgainstTheMeshCa() throws Exception {
    SignedLease signed = book.grant(device, "acme", 100);

    Lease lease = parsed(signed);
    assertThat(lease.getDevice()).isEqualTo(device.toString());
    assertThat(lease.getTenant()).isEqualTo("acme");
    assertThat(lease.getTokens()).isEqualTo(100);
    assertThat(lease.getNotAfterMs()).isEqualTo(clock.instant().plus(Duration.ofHours(1)).toEpochMilli());
    SpiffeId signer = MeshSignatures.verifier(core.trustBundle()).verify(signed.getLease().toByteArray(),
        signed.getSignature().toByteArray(), signed.getAlgorithm(),
        signed.getCertificateChainList().stream().map(b -> b.toByteArray()).toList(), clock.instant());
    assertThat(signer.toString()).isEqualTo(lease.getIssuer()).isEqualTo(pki.idOf(Role.CORE, "core-1").toString());
  }

  @Test
  void grant_reservesTheWholeLeaseInTheTenantsQuota_andIsCappedByMaxTokensPerGrant() throws Exception {
    assertThat(parsed(book.grant(device, "acme", 10_000)).getTokens()).isEqualTo(400);
    assertThat(quotas.reserved("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(400));
    book.grant(device, "acme", 400);

    assertThatThrownBy(() -> book.grant(pki.idOf(Role.EDGE, "other"), "acme", 400))
        .isInstanceOfSatisfying(CoreException.class, e -> assertThat(e.kind())
            .isEqualTo(CoreException.Kind.RESOURCE_EXHAUSTED))
        .hasMessageContaining("tokens_per_day");
  }

  @Test
  void grant_beyondMaxOpenPerDevice_isRefused() {
    book.grant(device, "free", 10);
    book.grant(device, "free", 10);

    assertThatThrownBy(() -> book.grant(device, "free", 10)).hasMessageContaining("max_open_per_device");
  }

  @Test
  void report_replayedTwice_isChargedOnce() throws Exception {
    String id = parsed(book.grant(device, "acme", 300)).getLeaseId();

    SpendReceipt first = book.report(device, id, 1, 120);
    SpendReceipt replay = book.report(device, id, 1, 120);

    assertThat(first.getReplay()).isFalse();
    assertThat(replay.getReplay()).isTrue();
    assertThat(replay.getTokensCharged()).isEqualTo(120);
    assertThat(quotas.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(120));
    assertThat(quotas.reserved("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(180));
  }

  @Test
  void report_cumulative_chargesOnlyTheIncrease_andALostReportCostsNothing() throws Exception {
    String id = parsed(book.grant(device, "acme", 300)).getLeaseId();

    book.report(device, id, 1, 50);
    // report 2 was lost on the way; report 3 carries its tokens
    SpendReceipt third = book.report(device, id, 3, 200);

    assertThat(third.getTokensCharged()).isEqualTo(200);
    assertThat(quotas.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(200));
    assertThat(book.report(device, id, 2, 90).getReplay()).isTrue(); // late, out of order: already covered
  }

  @Test
  void report_afterExpiryAndClockSkew_closesTheLeaseAndReleasesTheRest() throws Exception {
    String id = parsed(book.grant(device, "acme", 300)).getLeaseId();
    book.report(device, id, 1, 100);
    clock.advance(Duration.ofHours(1).plusMinutes(6));

    SpendReceipt last = book.report(device, id, 2, 140);

    assertThat(last.getClosed()).isTrue();
    assertThat(quotas.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(140));
    assertThat(quotas.reserved("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(0));
    assertThatThrownBy(() -> book.report(device, id, 3, 150)).hasMessageContaining("closed");
  }

  @Test
  void report_unreported_keepsTheWholeLeaseReserved() throws Exception {
    book.grant(device, "acme", 300);
    clock.advance(Duration.ofHours(3));

    assertThat(quotas.reserved("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(300));
  }

  @Test
  void report_byAnotherDevice_isPermissionDenied() throws Exception {
    String id = parsed(book.grant(device, "acme", 300)).getLeaseId();

    assertThatThrownBy(() -> book.report(pki.idOf(Role.EDGE, "thief"), id, 1, 10))
        .isInstanceOfSatisfying(CoreException.class, e -> assertThat(e.kind())
            .isEqualTo(CoreException.Kind.PERMISSION_DENIED));
    assertThat(quotas.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(0));
  }

  @Test
  void report_spendAboveTheLeaseOrGoingDown_isInvalid() throws Exception {
    String id = parsed(book.grant(device, "acme", 300)).getLeaseId();
    book.report(device, id, 1, 100);

    assertThatThrownBy(() -> book.report(device, id, 2, 301)).hasMessageContaining("tokens_spent");
    assertThatThrownBy(() -> book.report(device, id, 2, 99)).hasMessageContaining("tokens_spent");
    assertThatThrownBy(() -> book.report(device, "no-such-lease", 1, 1))
        .isInstanceOfSatisfying(CoreException.class, e -> assertThat(e.kind())
            .isEqualTo(CoreException.Kind.NOT_FOUND));
  }
}
