package io.infermesh.edge.lease;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * What the durable wallet costs a degraded request: {@link LeaseWallet#reserve} (an atomic file
 * replace with two fsyncs, paid before the first token) and {@link LeaseWallet#settle} (the same,
 * after the answer), p50 and p99, with 1 and with 8 leases held. Not part of {@code verify}:
 *
 * <pre>./mvnw -o -pl edge-agent -am test -Dtest=LeaseWalletBenchmark -Dsurefire.failIfNoSpecifiedTests=false</pre>
 *
 * <p>Prints {@code LEASE} lines (the wallet in {@code java.io.tmpdir}: the disk the data dir would be
 * on here); asserts only that every token was counted, not a time.
 */
class LeaseWalletBenchmark {
  private static final int ROUNDS = 400;

  @Test
  void reserveAndSettle_fsyncedFile_latency() throws Exception {
    Path dir = Files.createTempDirectory("lease-bench");
    TestLeases leases = new TestLeases(dir.resolve("mesh"));
    for (int held : new int[] {1, 8}) {
      LeaseWallet wallet = LeaseWallet.open(dir.resolve("wallet-" + held + ".json"), leases.verifier(),
          Clock.systemUTC());
      for (int i = 0; i < held; i++) {
        wallet.add(leases.verified("acme", 1_000_000, Instant.now().plus(Duration.ofHours(1 + i))));
      }
      long[] reserve = new long[ROUNDS];
      long[] settle = new long[ROUNDS];
      for (int i = 0; i < ROUNDS; i++) {
        long t0 = System.nanoTime();
        LeaseWallet.Hold hold = ((LeaseWallet.Spend.Reserved) wallet.reserve("acme", 80)).hold();
        long t1 = System.nanoTime();
        wallet.settle(hold, 50);
        long t2 = System.nanoTime();
        reserve[i] = t1 - t0;
        settle[i] = t2 - t1;
      }
      assertThat(wallet.spentBy("acme")).isEqualTo(50L * ROUNDS);
      System.out.printf("LEASE leases=%d reserve p50=%.2f ms p99=%.2f ms | settle p50=%.2f ms p99=%.2f ms "
          + "| %.0f requests/s through one wallet%n", held, ms(reserve, 50), ms(reserve, 99), ms(settle, 50),
          ms(settle, 99), ROUNDS * 1e9 / (Arrays.stream(reserve).sum() + Arrays.stream(settle).sum()));
    }
  }

  private static double ms(long[] nanos, int percentile) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, sorted.length * percentile / 100)] / 1e6;
  }
}
