package io.infermesh.edge.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.certs.MeshSignatures;
import io.infermesh.certs.MutableClock;
import io.infermesh.certs.Role;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeaseWalletTest {
  @TempDir
  Path dir;
  private TestLeases leases;
  private final MutableClock clock = new MutableClock(Instant.now());
  private Path file;

  @BeforeEach
  void setUp() throws Exception {
    leases = new TestLeases(dir.resolve("mesh"));
    file = dir.resolve("data/leases.json");
  }

  private LeaseWallet open() throws IOException {
    return LeaseWallet.open(file, leases.verifier(), clock);
  }

  private static LeaseWallet.Hold held(LeaseWallet.Spend spend) {
    assertThat(spend).isInstanceOf(LeaseWallet.Spend.Reserved.class);
    return ((LeaseWallet.Spend.Reserved) spend).hold();
  }

  @Test
  void reserve_untilTheLeaseIsSpent_holdsExactlyTheLeaseAndThenRefusesNamingTheTenant() throws Exception {
    LeaseWallet wallet = open();
    wallet.add(leases.verified("acme", 100, clock.instant().plus(Duration.ofHours(1))));

    long served = 0;
    LeaseWallet.Spend spend;
    while ((spend = wallet.reserve("acme", 30)) instanceof LeaseWallet.Spend.Reserved r) {
      wallet.settle(r.hold(), 30);
      served += 30;
    }

    assertThat(served).isEqualTo(90);
    assertThat(((LeaseWallet.Spend.Refused) spend).message()).contains("tenant 'acme'", "10 tokens left");
    held(wallet.reserve("acme", 10)); // the last 10 still fit a smaller request
    assertThat(wallet.reserve("acme", 1)).isInstanceOf(LeaseWallet.Spend.Refused.class);
  }

  @Test
  void reserve_otherTenantOrExpiredLease_isRefused() throws Exception {
    LeaseWallet wallet = open();
    wallet.add(leases.verified("acme", 100, clock.instant().plus(Duration.ofMinutes(5))));

    assertThat(wallet.reserve("globex", 1)).isInstanceOf(LeaseWallet.Spend.Refused.class);
    clock.advance(Duration.ofMinutes(5));
    assertThat(wallet.reserve("acme", 1)).isInstanceOfSatisfying(LeaseWallet.Spend.Refused.class,
        r -> assertThat(r.message()).contains("spent or expired"));
  }

  @Test
  void open_afterARestart_keepsWhatWasSpent() throws Exception {
    LeaseWallet first = open();
    first.add(leases.verified("acme", 100, clock.instant().plus(Duration.ofHours(1))));
    first.settle(held(first.reserve("acme", 60)), 45);

    LeaseWallet second = open();

    assertThat(second.unspent("acme")).isEqualTo(55);
    assertThat(second.reserve("acme", 56)).isInstanceOf(LeaseWallet.Spend.Refused.class);
  }

  @Test
  void open_afterACrashWithAHoldOpen_countsTheWholeHoldAsSpent() throws Exception {
    LeaseWallet crashed = open();
    crashed.add(leases.verified("acme", 100, clock.instant().plus(Duration.ofHours(1))));
    held(crashed.reserve("acme", 70)); // the process dies mid-answer: never settled

    LeaseWallet restarted = open();

    assertThat(restarted.unspent("acme")).isEqualTo(30);
    assertThat(restarted.spentBy("acme")).isEqualTo(70);
  }

  /** A file whose writes fail from the {@code failFrom}-th on, as if the process died writing it. */
  private static final class CrashingFile implements WalletFile {
    private final WalletFile real;
    private final AtomicInteger writes = new AtomicInteger();
    private final int failFrom;

    CrashingFile(WalletFile real, int failFrom) {
      this.real = real;
      this.failFrom = failFrom;
    }

    @Override
    public Optional<byte[]> read() throws IOException {
      return real.read();
    }

    @Override
    public void write(byte[] content) throws IOException {
      if (writes.incrementAndGet() >= failFrom) {
        throw new IOException("injected crash before the write reached the disk");
      }
      real.write(content);
    }
  }

  @Test
  void reserve_whoseWriteFails_holdsNothingAndServesNothing() throws Exception {
    WalletFile disk = WalletFile.at(file);
    LeaseWallet wallet = LeaseWallet.open(new CrashingFile(disk, 3), leases.verifier(), clock);
    wallet.add(leases.verified("acme", 100, clock.instant().plus(Duration.ofHours(1)))); // write 1
    held(wallet.reserve("acme", 40)); // write 2: on disk before it is served

    // write 3 crashes: the caller gets the failure, so no token is served from this hold
    assertThatThrownBy(() -> wallet.reserve("acme", 40)).isInstanceOf(IOException.class);

    assertThat(wallet.unspent("acme")).isEqualTo(60); // undone in memory
    LeaseWallet restarted = LeaseWallet.open(disk, leases.verifier(), clock);
    assertThat(restarted.spentBy("acme")).isEqualTo(40); // the durable hold, counted in full
  }

  @Test
  void nextReport_withoutAReceipt_isSentAgainUnderTheSameNumber_andAReceiptThatClosesTheLeaseForgetsIt()
      throws Exception {
    LeaseWallet wallet = open();
    VerifiedLease lease = leases.verified("acme", 100, clock.instant().plus(Duration.ofHours(1)));
    wallet.add(lease);
    wallet.settle(held(wallet.reserve("acme", 30)), 25);

    LeaseWallet.Report first = wallet.nextReport(lease.id()).orElseThrow();
    wallet.settle(held(wallet.reserve("acme", 30)), 20);
    LeaseWallet restarted = open(); // died before the receipt came
    LeaseWallet.Report again = restarted.nextReport(lease.id()).orElseThrow();

    assertThat(first).isEqualTo(new LeaseWallet.Report(lease.id(), 1, 25));
    // the same number, the new total: if the core counted report 1, this is its replay, and the receipt
    // (charged 25 < spent 45) makes report 2 carry the rest
    assertThat(again).isEqualTo(new LeaseWallet.Report(lease.id(), 1, 45));
    restarted.acknowledged(lease.id(), 1, 25, false);
    assertThat(restarted.unreported()).containsExactly(lease.id());
    assertThat(open().nextReport(lease.id())).contains(new LeaseWallet.Report(lease.id(), 2, 45));
    restarted.acknowledged(lease.id(), 2, 45, false);
    assertThat(restarted.unreported()).isEmpty();
    clock.advance(Duration.ofHours(2));
    assertThat(restarted.unreported()).containsExactly(lease.id()); // expired: reported until the core closes it
    restarted.acknowledged(lease.id(), 3, 45, true);
    assertThat(open().leaseIds()).isEmpty();
  }

  @Test
  void open_aWalletHoldingAForgedLease_dropsIt() throws Exception {
    LeaseWallet wallet = open();
    wallet.add(leases.verified("acme", 100, clock.instant().plus(Duration.ofHours(1))));
    LeaseVerifier otherDevice = LeaseVerifier.of(MeshSignatures.verifier(
        leases.core.trustBundle()), leases.pki.idOf(Role.EDGE, "other-shop"));

    LeaseWallet copied = LeaseWallet.open(file, otherDevice, clock); // the file moved to another device

    assertThat(copied.leaseIds()).isEmpty();
    assertThat(copied.reserve("acme", 1)).isInstanceOf(LeaseWallet.Spend.Refused.class);
  }
}
