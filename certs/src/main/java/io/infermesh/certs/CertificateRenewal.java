package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;

/**
 * One renewal of a process's own certificate, device side: a fresh P-256 key pair and a signing
 * request for the identity and names of the current certificate ({@link #request()}); then the
 * signer's answer is checked ({@link #complete}) and written over the process's credential files
 * ({@link #install}), each file atomically, for {@link MeshTls#reload()} to pick up.
 *
 * <p>The private key never leaves this object except into the key file. Not thread-safe: one
 * renewal is driven by one thread.
 */
public final class CertificateRenewal {
  private final SpiffeId id;
  private final KeyPair keys;
  private final CertificateSigningRequest request;

  private CertificateRenewal(SpiffeId id, KeyPair keys, CertificateSigningRequest request) {
    this.id = id;
    this.keys = keys;
    this.request = request;
  }

  /**
   * Starts renewing {@code current}: same SPIFFE ID, same DNS and IP names, a new key.
   *
   * @throws IllegalArgumentException when {@code current} carries no mesh SPIFFE ID
   */
  public static CertificateRenewal of(X509Certificate current) {
    requireNonNull(current, "current");
    SpiffeId id = SpiffeId.fromCertificate(current);
    CertificateNames names = CertificateNames.of(current);
    KeyPair keys = Keys.newEcP256(new SecureRandom());
    return new CertificateRenewal(id, keys,
        CertificateSigningRequest.create(id, names.dnsNames(), names.ipAddresses(), keys));
  }

  /** The identity being renewed. */
  public SpiffeId identity() {
    return id;
  }

  /** The signing request to send. */
  public CertificateSigningRequest request() {
    return request;
  }

  /**
   * Checks the signer's answer: a leaf for this identity and this request's key, signed by the
   * next certificate of the chain, which must be a CA of {@code trustBundle} (a signer answering
   * with another CA would leave this process with a certificate no peer accepts).
   *
   * @throws IllegalArgumentException saying what is wrong with the chain
   * @throws IOException naming the trust bundle when it cannot be read
   */
  public IssuedCertificate complete(List<X509Certificate> chain, Path trustBundle) throws IOException {
    requireNonNull(chain, "chain");
    requireNonNull(trustBundle, "trustBundle");
    if (chain.size() < 2) {
      throw new IllegalArgumentException("the signer returned " + chain.size()
          + " certificate(s); expected the new leaf and its CA");
    }
    X509Certificate leaf = chain.get(0);
    if (!leaf.getPublicKey().equals(keys.getPublic())) {
      throw new IllegalArgumentException("the signer's certificate is not for the key this renewal generated");
    }
    SpiffeId issued = SpiffeId.fromCertificate(leaf);
    if (!issued.equals(id)) {
      throw new IllegalArgumentException("the signer issued " + issued + " instead of " + id);
    }
    if (!Arrays.asList(PemFiles.decodeTrustBundle(trustBundle, PemFiles.read(trustBundle))).contains(chain.get(1))) {
      throw new IllegalArgumentException("the signer's CA '" + chain.get(1).getSubjectX500Principal().getName()
          + "' is not in the trust bundle " + trustBundle);
    }
    try {
      leaf.verify(chain.get(1).getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("the new leaf is not signed by the CA the signer returned with it", e);
    }
    return new IssuedCertificate(id, chain, keys.getPrivate());
  }

  /**
   * Replaces the certificate chain and private key at {@code files} with {@code issued}, each file
   * atomically (key first, created 0600); the trust bundle is left alone. Between the two renames
   * a reader sees a key and a certificate that do not belong together, which {@link MeshTls}
   * skips until both are in place.
   */
  public static void install(IssuedCertificate issued, MeshCredentialFiles files) throws IOException {
    requireNonNull(issued, "issued");
    requireNonNull(files, "files");
    PemFiles.write(List.of(
        new PemFiles.Output(files.privateKey(), PemFiles.encodePrivateKey(issued.privateKey()), true),
        new PemFiles.Output(files.certificateChain(), PemFiles.encodeCertificates(issued.chain()), false)),
        true);
  }
}
