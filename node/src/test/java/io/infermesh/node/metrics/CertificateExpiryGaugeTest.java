package io.infermesh.node.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateExpiryGaugeTest {
  @TempDir
  Path dir;

  @Test
  void register_readsTheCurrentCertificateOnEveryScrape_soItFollowsARotation() {
    TestPki pki = TestPki.create(dir);
    X509Certificate first = pki.leaf(Role.CORE, "core-0").certificate();
    X509Certificate rotated = pki.ca().issue(LeafRequest.builder(Role.CORE, TestPki.REGION, "core-0")
        .validity(Duration.ofDays(2)).build()).certificate();
    AtomicReference<X509Certificate> current = new AtomicReference<>(first);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();

    CertificateExpiryGauge.register(registry, current::get);

    Gauge gauge = registry.get(CertificateExpiryGauge.NAME).gauge();
    assertThat(gauge.getId().getBaseUnit()).isEqualTo("seconds");
    assertThat(gauge.value()).isEqualTo(first.getNotAfter().getTime() / 1000.0);
    assertThat(rotated.getNotAfter()).isAfter(first.getNotAfter());
    current.set(rotated);
    assertThat(gauge.value()).isEqualTo(rotated.getNotAfter().getTime() / 1000.0);
  }
}
