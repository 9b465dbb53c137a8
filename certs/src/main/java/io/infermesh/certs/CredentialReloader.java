package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a process's {@link MeshCredentialFiles} and pushes them into grpc-java's {@link
 * AdvancedTlsX509KeyManager} and {@link AdvancedTlsX509TrustManager}s, which swap them in for new
 * handshakes; established connections keep the credentials they were opened with.
 *
 * <p>grpc-java's own file watching ({@code updateIdentityCredentials(File, File, long, ...)}) is not
 * used because it enforces a refresh period of at least one minute, compares modification times
 * only, and installs a key and certificate that do not belong together if it reads in the middle
 * of a rotation. This class compares content digests, checks that the key matches the leaf and
 * that the leaf carries a SPIFFE ID of the same trust domain, and keeps the previous credentials
 * (logging once per bad version) until the files are consistent again.
 *
 * <p>Threading: the constructor loads synchronously; afterwards {@link #refresh()} is synchronized
 * on this object, which guards the digests and last problems; the trust managers and trust
 * certificates are guarded by {@code trustLock} (taken after {@code this}, never before); the
 * current identity is volatile.
 */
final class CredentialReloader {
  private static final Logger log = LoggerFactory.getLogger(CredentialReloader.class);

  /** A loaded identity: what the key manager serves. */
  record Identity(SpiffeId id, List<X509Certificate> chain, PrivateKey key) {
    @Override
    public String toString() {
      return "Identity{" + id + ", serial=" + chain.get(0).getSerialNumber().toString(16) + "}"; // never the key
    }
  }

  private final MeshCredentialFiles files;
  private final Clock clock;
  private final AdvancedTlsX509KeyManager keyManager = new AdvancedTlsX509KeyManager();
  private final String trustDomain;

  private final Object trustLock = new Object();
  @GuardedBy("trustLock")
  private final List<AdvancedTlsX509TrustManager> trustManagers = new ArrayList<>();
  @GuardedBy("trustLock")
  private X509Certificate[] trustCertificates;

  private volatile Identity identity;

  // Confined: written by the constructor, then only inside the synchronized refresh() (not
  // expressible as @GuardedBy, which would also bind the constructor's calls).
  private byte[] identityDigest;
  private byte[] trustDigest;
  private String lastIdentityProblem;
  private String lastTrustProblem;

  /**
   * Loads the files once.
   *
   * @throws IOException naming the file when one is missing, malformed or inconsistent
   */
  CredentialReloader(MeshCredentialFiles files, Clock clock) throws IOException {
    this.files = requireNonNull(files, "files");
    this.clock = requireNonNull(clock, "clock");
    byte[][] identityBytes = readIdentity();
    Identity loaded = parseIdentity(identityBytes, null);
    byte[] trustBytes = PemFiles.read(files.trustBundle());
    X509Certificate[] trust = parseTrust(trustBytes);
    this.trustDomain = loaded.id().trustDomain();
    applyIdentity(loaded, digest(identityBytes));
    applyTrust(trust, digest(trustBytes));
    warnIfNotCurrentlyValid(loaded);
  }

  AdvancedTlsX509KeyManager keyManager() {
    return keyManager;
  }

  Identity identity() {
    return identity;
  }

  String trustDomain() {
    return trustDomain;
  }

  /** Feeds {@code trustManager} the current trust bundle now and every reloaded one later. */
  void register(AdvancedTlsX509TrustManager trustManager) throws IOException, GeneralSecurityException {
    synchronized (trustLock) {
      trustManager.updateTrustCredentials(trustCertificates.clone());
      trustManagers.add(trustManager);
    }
  }

  /** Reloads whatever changed on disk. Never throws: a failure is logged and retried next time. */
  synchronized void refresh() {
    try {
      refreshIdentity();
    } catch (RuntimeException e) {
      log.error("unexpected failure reloading {} and {}; keeping the previous identity",
          files.certificateChain(), files.privateKey(), e);
    }
    try {
      refreshTrust();
    } catch (RuntimeException e) {
      log.error("unexpected failure reloading {}; keeping the previous trust bundle", files.trustBundle(), e);
    }
  }

  private void refreshIdentity() {
    byte[][] bytes;
    try {
      bytes = readIdentity();
    } catch (IOException e) {
      identityProblem(e.getMessage());
      return;
    }
    byte[] digest = digest(bytes);
    if (Arrays.equals(digest, identityDigest)) {
      return;
    }
    Identity loaded;
    try {
      loaded = parseIdentity(bytes, trustDomain);
    } catch (IOException e) {
      identityProblem(e.getMessage());
      return;
    }
    Identity previous = identity;
    applyIdentity(loaded, digest);
    lastIdentityProblem = null;
    X509Certificate leaf = loaded.chain().get(0);
    log.info("reloaded mesh identity {} (serial {}, valid until {}; was {} serial {})",
        loaded.id(), leaf.getSerialNumber().toString(16), leaf.getNotAfter().toInstant(),
        previous.id(), previous.chain().get(0).getSerialNumber().toString(16));
    warnIfNotCurrentlyValid(loaded);
  }

  private void refreshTrust() {
    byte[] digest;
    X509Certificate[] trust;
    try {
      byte[] bytes = PemFiles.read(files.trustBundle());
      digest = digest(bytes);
      if (Arrays.equals(digest, trustDigest)) {
        return;
      }
      trust = parseTrust(bytes);
    } catch (IOException e) {
      trustProblem(e.getMessage());
      return;
    }
    try {
      applyTrust(trust, digest);
    } catch (IllegalStateException e) {
      trustProblem(e.getMessage());
      return;
    }
    lastTrustProblem = null;
    log.info("reloaded mesh trust bundle {} ({} CA certificate(s))", files.trustBundle(), trust.length);
  }

  private void identityProblem(String problem) {
    if (!Objects.equals(problem, lastIdentityProblem)) {
      log.warn("cannot reload the mesh identity, keeping the previous one (will retry): {}", problem);
      lastIdentityProblem = problem;
    }
  }

  private void trustProblem(String problem) {
    if (!Objects.equals(problem, lastTrustProblem)) {
      log.warn("cannot reload the mesh trust bundle, keeping the previous one (will retry): {}", problem);
      lastTrustProblem = problem;
    }
  }

  private byte[][] readIdentity() throws IOException {
    return new byte[][] {PemFiles.read(files.certificateChain()), PemFiles.read(files.privateKey())};
  }

  private Identity parseIdentity(byte[][] bytes, String requiredTrustDomain) throws IOException {
    Path chainFile = files.certificateChain();
    Path keyFile = files.privateKey();
    List<X509Certificate> chain = PemFiles.decodeCertificates(chainFile, bytes[0]);
    PrivateKey key = PemFiles.decodePrivateKey(keyFile, bytes[1]);
    if (!Keys.matches(key, chain.get(0).getPublicKey())) {
      throw new IOException(keyFile + ": is not the private key of the first certificate in " + chainFile);
    }
    SpiffeId id;
    try {
      id = SpiffeId.fromCertificate(chain.get(0));
    } catch (IllegalArgumentException e) {
      throw new IOException(chainFile + ": " + e.getMessage(), e);
    }
    if (requiredTrustDomain != null && !requiredTrustDomain.equals(id.trustDomain())) {
      throw new IOException(chainFile + ": the new certificate " + id + " is in another trust domain than "
          + requiredTrustDomain + "; restart the process to change trust domains");
    }
    return new Identity(id, List.copyOf(chain), key);
  }

  private X509Certificate[] parseTrust(byte[] bytes) throws IOException {
    return PemFiles.decodeTrustBundle(files.trustBundle(), bytes);
  }

  private void applyIdentity(Identity loaded, byte[] digest) {
    keyManager.updateIdentityCredentials(loaded.chain().toArray(X509Certificate[]::new), loaded.key());
    identity = loaded;
    identityDigest = digest;
  }

  private void applyTrust(X509Certificate[] trust, byte[] digest) {
    synchronized (trustLock) {
      for (AdvancedTlsX509TrustManager trustManager : trustManagers) {
        try {
          trustManager.updateTrustCredentials(trust.clone());
        } catch (IOException | GeneralSecurityException e) {
          throw new IllegalStateException("cannot install the trust bundle " + files.trustBundle()
              + ": " + e.getMessage(), e);
        }
      }
      trustCertificates = trust;
    }
    trustDigest = digest;
  }

  private void warnIfNotCurrentlyValid(Identity loaded) {
    X509Certificate leaf = loaded.chain().get(0);
    Instant now = clock.instant();
    if (now.isAfter(leaf.getNotAfter().toInstant())) {
      log.warn("{} ({}) expired at {}; peers will refuse it until it is reissued",
          files.certificateChain(), loaded.id(), leaf.getNotAfter().toInstant());
    } else if (now.isBefore(leaf.getNotBefore().toInstant())) {
      log.warn("{} ({}) is not valid before {}; check this machine's clock",
          files.certificateChain(), loaded.id(), leaf.getNotBefore().toInstant());
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
}
