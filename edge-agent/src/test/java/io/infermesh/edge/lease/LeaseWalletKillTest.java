package io.infermesh.edge.lease;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device that spends from its lease and is killed with SIGKILL mid-way, in a real child process:
 * every hold it had made durable (so might have served) is counted when the wallet is reopened, and
 * what the next run can spend plus what was counted never exceeds the lease.
 */
class LeaseWalletKillTest {
  private static final long LEASED = 100_000;
  private static final long HOLD = 7;

  @TempDir
  Path dir;

  @Test
  void reopen_afterKill9MidSpending_countsEveryDurableHoldAndNeverExceedsTheLease() throws Exception {
    TestLeases leases = new TestLeases(dir.resolve("mesh"));
    Path file = dir.resolve("leases.json");
    LeaseWallet.open(file, leases.verifier(), Clock.systemUTC())
        .add(leases.verified("acme", LEASED, Instant.now().plus(Duration.ofHours(1))));

    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        WalletSpenderProcess.class.getName(), file.toString(), leases.core.trustBundle().toString(),
        leases.device.toString(), "acme", String.valueOf(HOLD)).redirectErrorStream(true).start();
    Map<Long, Long> served = new HashMap<>(); // hold id → tokens the child may have served from it
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), UTF_8))) {
      String line;
      while (served.size() < 100 && (line = out.readLine()) != null) {
        String[] f = line.split(" ");
        if (f[0].equals("held")) {
          served.put(Long.parseLong(f[1]), Long.parseLong(f[2]));
        } else if (f[0].equals("settled")) {
          served.put(Long.parseLong(f[1]), Long.parseLong(f[2]));
        } else {
          throw new AssertionError("the child said: " + line);
        }
      }
      child.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no flush
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(served).hasSize(100);
    long lowerBound = served.values().stream().mapToLong(Long::longValue).sum();

    LeaseWallet reopened = LeaseWallet.open(file, leases.verifier(), Clock.systemUTC());

    long counted = reopened.spentBy("acme");
    assertThat(counted).isGreaterThanOrEqualTo(lowerBound);
    assertThat(counted + reopened.unspent("acme")).isEqualTo(LEASED);
  }
}
