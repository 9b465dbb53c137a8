package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A process's mesh identity as gRPC mutual-TLS credentials that follow rotated files.
 *
 * <p>Built from {@link MeshCredentialFiles}, it loads them once (failing fast with the file name
 * when they are missing or inconsistent), then re-reads them every {@linkplain
 * Builder#refreshPeriod refresh period}. A changed certificate and key, or a changed trust bundle,
 * are used by the next TLS handshakes; open connections keep the credentials they were opened
 * with, so streams in flight are not disturbed. A bad or half-written version is logged and
 * skipped until the files are consistent again; the previous credentials stay in use.
 *
 * <p>Servers ({@link #serverCredentials()}) require a client certificate that chains to the trust
 * bundle, is within its validity and carries a SPIFFE ID; which roles may call what is decided per
 * call by {@link RoleAuthorizationInterceptor}. Clients ({@link #channelCredentials}) verify the
 * server's chain, its trust domain and its SPIFFE ID against an {@link ExpectedIdentity} instead of
 * its host name. Either side's failure fails the handshake (the caller sees {@code UNAVAILABLE}).
 *
 * <p>Thread-safe. {@link #close()} stops the refreshing; credentials already handed out keep
 * working with the last loaded files.
 */
public final class MeshTls implements AutoCloseable {
  /** How often files are re-read when no period is set. */
  public static final Duration DEFAULT_REFRESH_PERIOD = Duration.ofMinutes(1);

  private final MeshCredentialFiles files;
  private final CredentialReloader reloader;
  private final ScheduledExecutorService executor;
  private final boolean ownsExecutor;
  private final ScheduledFuture<?> refreshTask;
  private final AdvancedTlsX509TrustManager serverTrustManager;
  @GuardedBy("this")
  private final Map<ExpectedIdentity, AdvancedTlsX509TrustManager> clientTrustManagers = new HashMap<>();

  private MeshTls(Builder builder) throws IOException {
    this.files = builder.files;
    this.reloader = new CredentialReloader(files, builder.clock);
    this.serverTrustManager = newTrustManager(SpiffePeerVerifier.forServer());
    this.ownsExecutor = builder.executor == null;
    this.executor = ownsExecutor ? newRefreshExecutor() : builder.executor;
    long periodNanos = builder.refreshPeriod.toNanos();
    this.refreshTask = executor.scheduleWithFixedDelay(
        reloader::refresh, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
  }

  /** Starts building credentials for {@code files}. */
  public static Builder builder(MeshCredentialFiles files) {
    return new Builder(files);
  }

  /** This process's current SPIFFE ID (it follows rotations). */
  public SpiffeId identity() {
    return reloader.identity().id();
  }

  /** This process's current leaf certificate (it follows rotations). */
  public X509Certificate certificate() {
    return reloader.identity().chain().get(0);
  }

  /** The trust domain of this process; fixed for the life of this object. */
  public String trustDomain() {
    return reloader.trustDomain();
  }

  /**
   * Re-reads the files now instead of at the next refresh, e.g. right after a renewal wrote them;
   * what changed is used by the next handshakes. Never throws: a bad version is logged and the
   * previous credentials stay in use (check {@link #certificate()} for what is loaded).
   */
  public void reload() {
    reloader.refresh();
  }

  /** The files these credentials follow. */
  public MeshCredentialFiles files() {
    return files;
  }

  /**
   * Server credentials that present this identity and require a client certificate from the
   * mesh CA ({@code ClientAuth.REQUIRE}).
   */
  public ServerCredentials serverCredentials() {
    return TlsServerCredentials.newBuilder()
        .keyManager(reloader.keyManager())
        .trustManager(serverTrustManager)
        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
        .build();
  }

  /**
   * Channel credentials that present this identity and accept only a server of this trust domain
   * matching {@code expectedServer}. Host names are not verified: the SPIFFE ID is. One trust
   * manager is kept per distinct expectation for the life of this object, so prefer a few
   * role-based expectations over one {@link ExpectedIdentity#exactly exact} expectation per peer.
   */
  public ChannelCredentials channelCredentials(ExpectedIdentity expectedServer) {
    requireNonNull(expectedServer, "expectedServer");
    return TlsChannelCredentials.newBuilder()
        .keyManager(reloader.keyManager())
        .trustManager(clientTrustManager(expectedServer))
        .build();
  }

  private synchronized AdvancedTlsX509TrustManager clientTrustManager(ExpectedIdentity expected) {
    AdvancedTlsX509TrustManager trustManager = clientTrustManagers.get(expected);
    if (trustManager == null) {
      trustManager = newTrustManager(SpiffePeerVerifier.forClient(reloader::trustDomain, expected));
      clientTrustManagers.put(expected, trustManager);
    }
    return trustManager;
  }

  private AdvancedTlsX509TrustManager newTrustManager(SpiffePeerVerifier verifier) {
    try {
      AdvancedTlsX509TrustManager trustManager = AdvancedTlsX509TrustManager.newBuilder()
          .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
          .setSslSocketAndEnginePeerVerifier(verifier)
          .build();
      reloader.register(trustManager);
      return trustManager;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up a TLS trust manager: " + e.getMessage(), e);
    }
  }

  /** Stops re-reading the files and, if this object created it, the refresh thread. Idempotent. */
  @Override
  public void close() {
    refreshTask.cancel(false);
    if (ownsExecutor) {
      executor.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "MeshTls{" + identity() + ", files=" + files + "}";
  }

  private static ScheduledExecutorService newRefreshExecutor() {
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread thread = new Thread(runnable, "infermesh-mesh-tls-refresh");
      thread.setDaemon(true);
      return thread;
    });
    executor.setRemoveOnCancelPolicy(true);
    return executor;
  }

  /** Configures a {@link MeshTls}. Not thread-safe. */
  public static final class Builder {
    private final MeshCredentialFiles files;
    private Duration refreshPeriod = DEFAULT_REFRESH_PERIOD;
    private ScheduledExecutorService executor;
    private Clock clock = Clock.systemUTC();

    private Builder(MeshCredentialFiles files) {
      this.files = requireNonNull(files, "files");
    }

    /**
     * How often the files are re-read ({@link #DEFAULT_REFRESH_PERIOD} when not set). Reading is
     * cheap (three small files, compared by digest), so seconds are fine where rotation must be
     * picked up quickly.
     *
     * @throws IllegalArgumentException when not positive
     */
    public Builder refreshPeriod(Duration refreshPeriod) {
      this.refreshPeriod = Durations.requirePositive(refreshPeriod, "refresh period");
      return this;
    }

    /**
     * The executor that re-reads the files. When not set, a daemon thread is created and stopped
     * by {@link MeshTls#close()}; a given executor is not shut down by {@code close()}.
     */
    public Builder refreshExecutor(ScheduledExecutorService executor) {
      this.executor = requireNonNull(executor, "executor");
      return this;
    }

    /** The clock used to warn about expired or not yet valid certificates (UTC system clock by default). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Loads the files and starts re-reading them.
     *
     * @throws IOException naming the file when one is missing, malformed, or when the key does not
     *     match the certificate or the certificate carries no SPIFFE ID
     */
    public MeshTls build() throws IOException {
      return new MeshTls(this);
    }
  }
}
