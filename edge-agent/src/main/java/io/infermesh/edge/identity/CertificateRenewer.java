package io.infermesh.edge.identity;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.CertificateSignerGrpc;
import io.infermesh.api.v1.RenewRequest;
import io.infermesh.api.v1.RenewResponse;
import io.infermesh.certs.CertificateRenewal;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.IssuedCertificate;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.edge.config.Renewal;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this edge's mesh certificate fresh: at the {@linkplain RenewalSchedule renewal time} of the
 * certificate {@link MeshTls} holds, it generates a new P-256 key, sends a CSR for its own identity
 * to the signer ({@code infermesh.v1.CertificateSigner/Renew}) over mutual TLS with the current
 * certificate, checks the answer, writes the new key and chain over the credential files (each
 * atomically) and has {@link MeshTls#reload()} load them: the next handshakes present the new
 * certificate, connections already open carry on, nothing restarts.
 *
 * <p>Failures (signer down, refused, a bad answer) keep the current certificate and retry with
 * exponential backoff; each is logged with its status, and once the current certificate has
 * expired every failure is logged as an error (the core refuses an expired certificate, and so
 * does the signer: an operator must then issue one with {@code infermesh certs issue}; the renewer
 * follows whatever certificate the files hold). A refusal that will not change by retrying
 * (PERMISSION_DENIED: revoked or not allowed) is retried at the maximum backoff.
 *
 * <p>Each attempt opens its own connection to the signer, so the signer always authenticates the
 * certificate currently loaded. Metrics: {@code infermesh.cert.renewals} (counter, tag {@code
 * result}: {@code renewed} or the gRPC status code / {@code invalid_answer} / {@code io_error}) and
 * {@code infermesh.cert.expiry.seconds} (gauge: seconds until the loaded certificate expires,
 * negative once expired).
 *
 * <p>Threading: every attempt and every scheduling decision runs on one scheduler thread (the
 * injected executor must run one task at a time, or be single-threaded); {@code failures} and
 * {@code next} are confined to it, except that {@link #close()} cancels {@code next}.
 */
public final class CertificateRenewer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CertificateRenewer.class);

  private final Renewal config;
  private final MeshTls tls;
  private final Clock clock;
  private final ScheduledExecutorService executor;
  private final boolean ownsExecutor;
  private final MeterRegistry registry;
  private int failures; // confined to the executor
  private volatile ScheduledFuture<?> next;
  private volatile boolean closed;

  private CertificateRenewer(Builder builder) {
    this.config = builder.config;
    this.tls = builder.tls;
    this.clock = builder.clock;
    this.ownsExecutor = builder.executor == null;
    this.executor = ownsExecutor ? newExecutor() : builder.executor;
    this.registry = builder.registry;
    Gauge.builder("infermesh.cert.expiry.seconds", this, r -> r.secondsToExpiry())
        .description("Seconds until this process's mesh certificate expires (negative once expired)")
        .register(registry);
  }

  /** Starts configuring a renewer of {@code tls}'s certificate from {@code config.signer()}. */
  public static Builder builder(Renewal config, MeshTls tls) {
    return new Builder(config, tls);
  }

  private double secondsToExpiry() {
    return Duration.between(clock.instant(), tls.certificate().getNotAfter().toInstant()).toMillis() / 1000.0;
  }

  private void start() {
    X509Certificate current = tls.certificate();
    Duration lifetime = Duration.between(current.getNotBefore().toInstant(), current.getNotAfter().toInstant());
    if (RenewalSchedule.marginExceedsHalf(lifetime, config.before())) {
      log.warn("escalation.tls.renew.before ({}) is more than half of the certificate's lifetime ({}); renewing at"
          + " half its lifetime instead", ((Renewal.Before.Margin) config.before()).margin(), lifetime);
    }
    log.info("renewing mesh certificate {} from the signer at {} ({}); current serial {} valid until {}",
        tls.identity(), config.signer(), config.before(), current.getSerialNumber().toString(16),
        current.getNotAfter().toInstant());
    scheduleRenewalOf(current);
  }

  private void scheduleRenewalOf(X509Certificate certificate) {
    Instant at = RenewalSchedule.renewAt(certificate.getNotBefore().toInstant(),
        certificate.getNotAfter().toInstant(), config.before());
    schedule(Duration.between(clock.instant(), at));
  }

  private void schedule(Duration delay) {
    if (closed) {
      return;
    }
    long nanos = Math.max(0, delay.toNanos());
    next = executor.schedule(this::attempt, nanos, TimeUnit.NANOSECONDS);
  }

  /** One renewal attempt; on the executor. Never throws: a failure is logged and retried. */
  private void attempt() {
    if (closed) {
      return;
    }
    X509Certificate current = tls.certificate();
    String result;
    try {
      X509Certificate renewed = renewOnce(current);
      failures = 0;
      count("renewed");
      log.info("renewed mesh certificate {}: serial {} valid until {} (was serial {}, valid until {})",
          tls.identity(), renewed.getSerialNumber().toString(16), renewed.getNotAfter().toInstant(),
          current.getSerialNumber().toString(16), current.getNotAfter().toInstant());
      scheduleRenewalOf(renewed);
      return;
    } catch (StatusRuntimeException e) {
      result = e.getStatus().getCode().name().toLowerCase(Locale.ROOT);
      fail(current, "the signer answered " + e.getStatus().getCode() + ": " + e.getStatus().getDescription(),
          e.getStatus().getCode() == Status.Code.PERMISSION_DENIED);
    } catch (IllegalArgumentException | CertificateException e) {
      result = "invalid_answer";
      fail(current, "the signer's answer is unusable: " + e.getMessage(), false);
    } catch (IOException e) {
      result = "io_error";
      fail(current, "cannot write the new certificate: " + e.getMessage(), false);
    } catch (RuntimeException e) {
      result = "error";
      log.error("unexpected failure renewing mesh certificate {}", tls.identity(), e);
      fail(current, e.toString(), false);
    }
    count(result);
  }

  private X509Certificate renewOnce(X509Certificate current) throws CertificateException, IOException {
    CertificateRenewal renewal = CertificateRenewal.of(current);
    // a fresh connection per attempt: the signer must see the certificate loaded now, not the one
    // an older connection was opened with
    ManagedChannel channel = MeshChannels.newChannel(config.signer(), tls, ExpectedIdentity.roles(Role.CONTROL));
    RenewResponse response;
    try {
      response = CertificateSignerGrpc.newBlockingStub(channel)
          .withDeadlineAfter(config.timeout().toNanos(), TimeUnit.NANOSECONDS)
          .renew(RenewRequest.newBuilder().setCsr(ByteString.copyFrom(renewal.request().encoded())).build());
    } finally {
      channel.shutdownNow();
    }
    IssuedCertificate issued = renewal.complete(decode(response), tls.files().trustBundle());
    CertificateRenewal.install(issued, tls.files());
    tls.reload();
    X509Certificate loaded = tls.certificate();
    if (!loaded.equals(issued.certificate())) {
      throw new IOException("the new certificate was written to " + tls.files().certificateChain()
          + " but did not load (see the reload warning above); keeping serial " + loaded.getSerialNumber().toString(16));
    }
    return loaded;
  }

  private static List<X509Certificate> decode(RenewResponse response) throws CertificateException {
    CertificateFactory factory = CertificateFactory.getInstance("X.509");
    List<X509Certificate> chain = new ArrayList<>();
    for (ByteString der : response.getCertificateChainList()) {
      chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der.toByteArray())));
    }
    return chain;
  }

  private void fail(X509Certificate current, String why, boolean permanent) {
    failures++;
    Duration wait = permanent ? config.maxBackoff()
        : RenewalSchedule.backoff(failures, config.backoff(), config.maxBackoff());
    Instant notAfter = current.getNotAfter().toInstant();
    if (clock.instant().isAfter(notAfter)) {
      log.error("cannot renew mesh certificate {} ({} failures in a row): {}. It EXPIRED at {}: the core and the"
          + " signer refuse it; issue a new one with 'infermesh certs issue' into {}. Retrying in {}",
          tls.identity(), failures, why, notAfter, tls.files().certificateChain().getParent(), wait);
    } else {
      log.warn("cannot renew mesh certificate {} ({} failures in a row): {}. Keeping serial {} (valid until {});"
          + " retrying in {}", tls.identity(), failures, why, current.getSerialNumber().toString(16), notAfter, wait);
    }
    schedule(wait);
  }

  private void count(String result) {
    Counter.builder("infermesh.cert.renewals")
        .description("Attempts to renew this process's mesh certificate, by result")
        .tag("result", result)
        .register(registry)
        .increment();
  }

  /** Stops renewing (the current certificate stays loaded). Idempotent. */
  @Override
  public void close() {
    closed = true;
    ScheduledFuture<?> pending = next;
    if (pending != null) {
      pending.cancel(false);
    }
    if (ownsExecutor) {
      executor.shutdownNow();
    }
  }

  private static ScheduledExecutorService newExecutor() {
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread thread = new Thread(runnable, "infermesh-cert-renewer");
      thread.setDaemon(true);
      return thread;
    });
    executor.setRemoveOnCancelPolicy(true);
    return executor;
  }

  /** Configures a {@link CertificateRenewer}. Not thread-safe. */
  public static final class Builder {
    private final Renewal config;
    private final MeshTls tls;
    private Clock clock = Clock.systemUTC();
    private ScheduledExecutorService executor;
    private MeterRegistry registry;

    private Builder(Renewal config, MeshTls tls) {
      this.config = requireNonNull(config, "config");
      this.tls = requireNonNull(tls, "tls");
    }

    /** The clock renewal times are computed against; the UTC system clock by default. */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The executor attempts run on (one at a time); by default a daemon thread that {@link
     * CertificateRenewer#close()} stops. A given executor is not shut down.
     */
    public Builder executor(ScheduledExecutorService executor) {
      this.executor = requireNonNull(executor, "executor");
      return this;
    }

    /** Where the metrics go; required. */
    public Builder metrics(MeterRegistry registry) {
      this.registry = requireNonNull(registry, "registry");
      return this;
    }

    /** Schedules the first renewal of the certificate loaded now. */
    public CertificateRenewer start() {
      if (registry == null) {
        throw new IllegalStateException("no meter registry: call metrics(registry)");
      }
      CertificateRenewer renewer = new CertificateRenewer(this);
      renewer.start();
      return renewer;
    }
  }
}
