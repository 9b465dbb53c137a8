package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What renewal and revocation cost: a device's CSR (new key + signature), the signer's whole
 * decision and signature, the deny-list check every authorized call now makes (100,000 entries),
 * and re-reading such a list. Not part of {@code verify}:
 *
 * <pre>./mvnw -o -pl certs -am test -Dtest=RenewalBenchmark -Dsurefire.failIfNoSpecifiedTests=false</pre>
 *
 * <p>Prints {@code RENEWAL} lines (CPU time of this thread; the machine is shared); asserts only
 * that the work was done.
 */
class RenewalBenchmark {
  @TempDir Path dir;

  @Test
  void renewal_andDenyList_cost() throws Exception {
    TestPki pki = TestPki.create(dir);
    IssuedCertificate edge = pki.leaf(Role.EDGE, "edge-1");
    StringBuilder entries = new StringBuilder();
    for (int i = 0; i < 100_000; i++) {
      entries.append(i % 2 == 0 ? "spiffe://mesh.test/test-1/edge/device-" + i : "serial:" + Integer.toHexString(i))
          .append('\n');
    }
    Path file = Files.writeString(dir.resolve("deny.txt"), entries);
    try (DenyList denyList = DenyList.watching(file, Duration.ofHours(1))) {
      RenewalSigner signer = RenewalSigner.of(pki.ca(), Duration.ofHours(24), denyList);
      byte[] der = CertificateRenewal.of(edge.certificate()).request().encoded();

      report("device CSR (P-256 key + signature)", 200, 1, () -> {
        return CertificateRenewal.of(edge.certificate()).request().encoded().length > 0 ? 1 : 0;
      });
      report("signer renew (parse, verify, checks, sign)", 500, 1, () -> {
        try {
          return signer.renew(edge.spiffeId(), edge.certificate(), der).size() == 2 ? 1 : 0;
        } catch (RenewalSigner.Refusal e) {
          throw new AssertionError(e);
        }
      });
      report("deny-list check per call (100k entries)", 2_000, 1_000,
          () -> denyList.revocation(edge.spiffeId(), edge.certificate()).isEmpty() ? 1 : 0);
      report("deny-list periodic re-read, unchanged 100k-entry file", 50, 1, () -> {
        denyList.refresh();
        return 1;
      });
      report("deny-list load of a 100k-entry file", 10, 1, () -> {
        try (DenyList loaded = DenyList.watching(file, Duration.ofHours(1))) {
          return loaded.denies(new SpiffeId("mesh.test", "test-1", Role.EDGE, "device-0")) ? 1 : 0;
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
      assertThat(denyList.denies(new SpiffeId("mesh.test", "test-1", Role.EDGE, "device-2"))).isTrue();
    }
  }

  /** Runs {@code work} {@code n} times {@code batch} times; prints the CPU time of one run. */
  private static void report(String what, int n, int batch, LongSupplier work) {
    for (int i = 0; i < Math.max(3, n / 10) * batch; i++) {
      assertThat(work.getAsLong()).isPositive(); // warm-up
    }
    ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
    double[] busy = new double[n];
    for (int i = 0; i < n; i++) {
      long c0 = cpu.getCurrentThreadCpuTime();
      long sum = 0;
      for (int j = 0; j < batch; j++) {
        sum += work.getAsLong();
      }
      busy[i] = (cpu.getCurrentThreadCpuTime() - c0) / 1e3 / batch;
      assertThat(sum).isEqualTo(batch);
    }
    Arrays.sort(busy);
    System.out.printf("RENEWAL %s: p50 %.2f µs, p99 %.2f µs CPU, mean %.2f µs (n=%d×%d)%n", what, busy[n / 2],
        busy[(int) (n * 0.99)], Arrays.stream(busy).average().orElseThrow(), n, batch);
  }
}
