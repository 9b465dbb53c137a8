package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A JSSE {@link SSLContext} over PEM files that follows their rotation, for TLS servers that are
 * not gRPC (the edge's HTTPS API): {@link MeshTls} does the same for gRPC, but insists on a SPIFFE
 * identity, which a certificate for an application-facing API need not carry (it may come from a
 * public CA).
 *
 * <p>The certificate chain and key (and the trust bundle that client certificates must chain to,
 * when one is given) are loaded once, failing fast with the file name when one is missing,
 * malformed, or when the key does not belong to the first certificate. Afterwards they are re-read
 * every {@linkplain Builder#refreshPeriod refresh period} and compared by content digest; a changed,
 * consistent version is used by the next TLS handshakes, while open connections keep what they were
 * opened with. A half-written or inconsistent version is logged once and skipped; the previous
 * credentials stay in use until the files are consistent again (the same rules as {@link MeshTls}).
 *
 * <p>The context's key manager and trust manager are grpc-java's {@link AdvancedTlsX509KeyManager}
 * and {@link AdvancedTlsX509TrustManager} (chain and validity checks only, no host name or SPIFFE
 * rule), which swap credentials atomically. Which clients must present a certificate is the
 * server's setting, not this object's.
 *
 * <p>Thread-safe: {@link #refresh()} is synchronized on this object, which guards the digests and
 * the last problems; the current leaf is volatile.
 */
public final class ReloadingSslContext implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReloadingSslContext.class);

  private final Path certificateChain;
  private final Path privateKey;
  private final Optional<Path> trustBundle;
  private final Clock clock;
  private final AdvancedTlsX509KeyManager keyManager = new AdvancedTlsX509KeyManager();
  private final AdvancedTlsX509TrustManager trustManager; // null without a trust bundle
  private final SSLContext sslContext;
  private final ScheduledExecutorService executor;
  private final boolean ownsExecutor;
  private final ScheduledFuture<?> refreshTask;

  private volatile X509Certificate leaf;

  // @GuardedBy("this")
  private byte[] identityDigest;
  private byte[] trustDigest;
  private String lastIdentityProblem;
  private String lastTrustProblem;

  private ReloadingSslContext(Builder builder) throws IOException {
    this.certificateChain = builder.certificateChain;
    this.privateKey = builder.privateKey;
    this.trustBundle = Optional.ofNullable(builder.trustBundle);
    this.clock = builder.clock;
    byte[][] identityBytes = readIdentity();
    List<X509Certificate> chain = parseIdentity(identityBytes);
    applyIdentity(chain, PemFiles.decodePrivateKey(privateKey, identityBytes[1]), digest(identityBytes));
    try {
      if (trustBundle.isPresent()) {
        trustManager = AdvancedTlsX509TrustManager.newBuilder()
            .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
            .build();
        byte[] trustBytes = PemFiles.read(trustBundle.get());
        trustManager.updateTrustCredentials(parseTrust(trustBytes));
        trustDigest = digest(trustBytes);
      } else {
        trustManager = null;
      }
      sslContext = SSLContext.getInstance("TLS");
      sslContext.init(new KeyManager[] {keyManager},
          trustManager == null ? null : new TrustManager[] {trustManager}, null);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot set up TLS with " + certificateChain + ": " + e.getMessage(), e);
    }
    warnIfNotCurrentlyValid(leaf);
    this.ownsExecutor = builder.executor == null;
    this.executor = ownsExecutor ? newRefreshExecutor() : builder.executor;
    long periodNanos = builder.refreshPeriod.toNanos();
    this.refreshTask = executor.scheduleWithFixedDelay(this::refresh, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
  }

  /** Starts building a context serving {@code certificateChain} (PEM, leaf first) with {@code privateKey} (PEM). */
  public static Builder builder(Path certificateChain, Path privateKey) {
    return new Builder(certificateChain, privateKey);
  }

  /** The context to hand to a TLS server; it follows rotations for new handshakes. */
  public SSLContext sslContext() {
    return sslContext;
  }

  /** The leaf certificate served now (it follows rotations). */
  public X509Certificate certificate() {
    return leaf;
  }

  /** The trust bundle client certificates are checked against, when one was given. */
  public Optional<Path> trustBundle() {
    return trustBundle;
  }

  /**
   * Re-reads the files now, as the periodic task does, and installs what changed and is
   * consistent. Never throws: a problem is logged (once per distinct problem) and retried later.
   */
  public synchronized void refresh() {
    try {
      refreshIdentity();
    } catch (RuntimeException e) {
      log.error("unexpected failure reloading {} and {}; keeping the previous certificate",
          certificateChain, privateKey, e);
    }
    try {
      refreshTrust();
    } catch (RuntimeException e) {
      log.error("unexpected failure reloading {}; keeping the previous trust bundle", trustBundle.orElse(null), e);
    }
  }

  private void refreshIdentity() {
    List<X509Certificate> chain;
    PrivateKey key;
    byte[] digest;
    try {
      byte[][] bytes = readIdentity();
      digest = digest(bytes);
      if (Arrays.equals(digest, identityDigest)) {
        return;
      }
      chain = parseIdentity(bytes);
      key = PemFiles.decodePrivateKey(privateKey, bytes[1]);
    } catch (IOException e) {
      if (!Objects.equals(e.getMessage(), lastIdentityProblem)) {
        log.warn("cannot reload the TLS certificate, keeping the previous one (will retry): {}", e.getMessage());
        lastIdentityProblem = e.getMessage();
      }
      return;
    }
    X509Certificate previous = leaf;
    applyIdentity(chain, key, digest);
    lastIdentityProblem = null;
    log.info("reloaded TLS certificate {} ('{}', serial {}, valid until {}; was serial {})", certificateChain,
        leaf.getSubjectX500Principal().getName(), leaf.getSerialNumber().toString(16),
        leaf.getNotAfter().toInstant(), previous.getSerialNumber().toString(16));
    warnIfNotCurrentlyValid(leaf);
  }

  private void refreshTrust() {
    if (trustManager == null) {
      return;
    }
    Path bundle = trustBundle.get();
    try {
      byte[] bytes = PemFiles.read(bundle);
      byte[] digest = digest(bytes);
      if (Arrays.equals(digest, trustDigest)) {
        return;
      }
      X509Certificate[] trust = parseTrust(bytes);
      trustManager.updateTrustCredentials(trust);
      trustDigest = digest;
      lastTrustProblem = null;
      log.info("reloaded TLS trust bundle {} ({} CA certificate(s))", bundle, trust.length);
    } catch (IOException | GeneralSecurityException e) {
      if (!Objects.equals(e.getMessage(), lastTrustProblem)) {
        log.warn("cannot reload the TLS trust bundle, keeping the previous one (will retry): {}", e.getMessage());
        lastTrustProblem = e.getMessage();
      }
    }
  }

  private byte[][] readIdentity() throws IOException {
    return new byte[][] {PemFiles.read(certificateChain), PemFiles.read(privateKey)};
  }

  /** The chain, after checking that the key belongs to its first certificate. */
  private List<X509Certificate> parseIdentity(byte[][] bytes) throws IOException {
    List<X509Certificate> chain = PemFiles.decodeCertificates(certificateChain, bytes[0]);
    PrivateKey key = PemFiles.decodePrivateKey(privateKey, bytes[1]);
    if (!Keys.matches(key, chain.get(0).getPublicKey())) {
      throw new IOException(privateKey + ": is not the private key of the first certificate in " + certificateChain);
    }
    return chain;
  }

  private X509Certificate[] parseTrust(byte[] bytes) throws IOException {
    return PemFiles.decodeTrustBundle(trustBundle.get(), bytes);
  }

  private void applyIdentity(List<X509Certificate> chain, PrivateKey key, byte[] digest) {
    keyManager.updateIdentityCredentials(chain.toArray(X509Certificate[]::new), key);
    leaf = chain.get(0);
    identityDigest = digest;
  }

  private void warnIfNotCurrentlyValid(X509Certificate certificate) {
    Instant now = clock.instant();
    if (now.isAfter(certificate.getNotAfter().toInstant())) {
      log.warn("{} expired at {}; clients will refuse it until it is reissued", certificateChain,
          certificate.getNotAfter().toInstant());
    } else if (now.isBefore(certificate.getNotBefore().toInstant())) {
      log.warn("{} is not valid before {}; check this machine's clock", certificateChain,
          certificate.getNotBefore().toInstant());
    }
  }

  private static byte[] digest(byte[]... parts) {
    try {
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      for (byte[] part : parts) {
        sha256.update(part);
        sha256.update((byte) 0);
      }
      return sha256.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** Stops re-reading the files (and the refresh thread, if this object created it). Idempotent. */
  @Override
  public void close() {
    refreshTask.cancel(false);
    if (ownsExecutor) {
      executor.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "ReloadingSslContext{" + certificateChain + ", serial=" + leaf.getSerialNumber().toString(16)
        + trustBundle.map(b -> ", trust=" + b).orElse("") + "}";
  }

  private static ScheduledExecutorService newRefreshExecutor() {
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread thread = new Thread(runnable, "infermesh-tls-refresh");
      thread.setDaemon(true);
      return thread;
    });
    executor.setRemoveOnCancelPolicy(true);
    return executor;
  }

  /** Configures a {@link ReloadingSslContext}. Not thread-safe. */
  public static final class Builder {
    private final Path certificateChain;
    private final Path privateKey;
    private Path trustBundle;
    private Duration refreshPeriod = MeshTls.DEFAULT_REFRESH_PERIOD;
    private ScheduledExecutorService executor;
    private Clock clock = Clock.systemUTC();

    private Builder(Path certificateChain, Path privateKey) {
      this.certificateChain = requireNonNull(certificateChain, "certificateChain");
      this.privateKey = requireNonNull(privateKey, "privateKey");
    }

    /** PEM CA certificates that client certificates must chain to (none by default: no client certificates). */
    public Builder trustBundle(Path trustBundle) {
      this.trustBundle = requireNonNull(trustBundle, "trustBundle");
      return this;
    }

    /**
     * How often the files are re-read ({@link MeshTls#DEFAULT_REFRESH_PERIOD} when not set).
     *
     * @throws IllegalArgumentException when not positive
     */
    public Builder refreshPeriod(Duration refreshPeriod) {
      this.refreshPeriod = Durations.requirePositive(refreshPeriod, "refresh period");
      return this;
    }

    /** The executor that re-reads the files; not shut down by {@link ReloadingSslContext#close()}. */
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
     * @throws IOException naming the file when one is missing or malformed, when the key does not
     *     match the first certificate, or when the trust bundle holds a certificate that is not a CA
     */
    public ReloadingSslContext build() throws IOException {
      return new ReloadingSslContext(this);
    }
  }
}
