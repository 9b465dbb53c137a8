package io.infermesh.node.metrics;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.security.cert.X509Certificate;
import java.util.function.Supplier;

/**
 * The gauge {@value #NAME} (Prometheus: {@code infermesh_tls_certificate_not_after_seconds}): when
 * this process's mesh certificate stops being valid, in seconds since the epoch, read from the
 * current certificate on every scrape so that it follows rotations. An alert compares it with
 * {@code time()}; a process whose certificates are never renewed shows it counting down.
 */
public final class CertificateExpiryGauge {
  /** The Micrometer name; Prometheus adds the {@code _seconds} unit. */
  public static final String NAME = "infermesh.tls.certificate.not_after";

  private CertificateExpiryGauge() {}

  /** Registers the gauge in {@code registry}, reading {@code current} (e.g. {@code MeshTls::certificate}) on each scrape. */
  public static void register(MeterRegistry registry, Supplier<X509Certificate> current) {
    requireNonNull(current, "current");
    Gauge.builder(NAME, current, c -> c.get().getNotAfter().getTime() / 1000.0)
        .description("When this process's mesh certificate expires (not after), in seconds since the epoch")
        .baseUnit("seconds")
        .strongReference(true) // nothing else holds the supplier
        .register(requireNonNull(registry, "registry"));
  }
}
