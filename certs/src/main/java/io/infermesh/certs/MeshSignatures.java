package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Data signed by a mesh identity, verifiable offline by anyone holding the mesh CA: the signer
 * signs with the key of its mesh certificate and ships that certificate (and any intermediates)
 * with the signature; the verifier checks the chain up to the CA of its trust bundle (PKIX, at a
 * given instant), then the signature, and answers with the signer's {@link SpiffeId}. This is
 * what lets an edge device trust a core's lease while the core is out of reach.
 *
 * <p>Algorithms: {@code SHA256withECDSA} for the mesh's P-256 keys, {@code Ed25519} for Ed25519
 * keys (a certificate issued by another tool). Signers and verifiers are immutable and
 * thread-safe (each call takes its own {@link Signature}).
 */
public final class MeshSignatures {
  /** The algorithm of a mesh (ECDSA P-256) key. */
  public static final String ECDSA_SHA256 = "SHA256withECDSA";
  /** The algorithm of an Ed25519 key. */
  public static final String ED25519 = "Ed25519";

  private MeshSignatures() {}

  /**
   * The signer holding {@code files}' key and certificate chain (the trust bundle is not read).
   *
   * @throws IOException naming the file when one is unreadable, or the key is not the leaf's
   */
  public static Signer signer(MeshCredentialFiles files) throws IOException {
    requireNonNull(files, "files");
    List<X509Certificate> chain = PemFiles.readCertificates(files.certificateChain());
    PrivateKey key = PemFiles.readPrivateKey(files.privateKey());
    if (!Keys.matches(key, chain.get(0).getPublicKey())) {
      throw new IOException(files.privateKey() + ": this key does not belong to the certificate in "
          + files.certificateChain());
    }
    return new Signer(chain, key);
  }

  /**
   * The verifier trusting the CA certificates of {@code trustBundle} (a PEM file).
   *
   * @throws IOException naming the file when it is unreadable or holds a certificate that is not a CA
   */
  public static Verifier verifier(Path trustBundle) throws IOException {
    requireNonNull(trustBundle, "trustBundle");
    X509Certificate[] cas = PemFiles.decodeTrustBundle(trustBundle, PemFiles.read(trustBundle));
    Set<TrustAnchor> anchors = new HashSet<>();
    for (X509Certificate ca : cas) {
      anchors.add(new TrustAnchor(ca, null));
    }
    return new Verifier(anchors);
  }

  private static String algorithmOf(PrivateKey key) {
    return switch (key.getAlgorithm()) {
      case "EC", "ECDSA" -> ECDSA_SHA256;
      case "Ed25519", "EdDSA" -> ED25519;
      default -> throw new IllegalArgumentException("a " + key.getAlgorithm()
          + " key cannot sign mesh data; use an ECDSA P-256 or Ed25519 key");
    };
  }

  /** A mesh identity that signs. Immutable; thread-safe. */
  public static final class Signer {
    private final List<X509Certificate> chain;
    private final List<byte[]> chainDer;
    private final PrivateKey key;
    private final String algorithm;
    private final SpiffeId identity;

    private Signer(List<X509Certificate> chain, PrivateKey key) {
      this.chain = List.copyOf(chain);
      this.key = key;
      this.algorithm = algorithmOf(key);
      this.identity = SpiffeId.fromCertificate(chain.get(0));
      List<byte[]> der = new ArrayList<>();
      for (X509Certificate c : chain) {
        if (c.getBasicConstraints() >= 0 && c != chain.get(0)) {
          break; // the CA itself: the verifier has it
        }
        try {
          der.add(c.getEncoded());
        } catch (CertificateEncodingException e) {
          throw new IllegalArgumentException("certificate '" + c.getSubjectX500Principal().getName()
              + "' cannot be encoded", e);
        }
      }
      this.chainDer = List.copyOf(der);
    }

    /** The signer's SPIFFE ID (its certificate's). */
    public SpiffeId identity() {
      return identity;
    }

    /** The JCA name of the algorithm it signs with. */
    public String algorithm() {
      return algorithm;
    }

    /** Its certificate first, then intermediates, DER-encoded, without the CA; callers must not modify them. */
    public List<byte[]> certificateChain() {
      return chainDer;
    }

    /** When its certificate expires: what it signs should not outlive this. */
    public Instant notAfter() {
      return chain.get(0).getNotAfter().toInstant();
    }

    /** The signature over {@code data}. */
    public byte[] sign(byte[] data) {
      requireNonNull(data, "data");
      try {
        Signature s = Signature.getInstance(algorithm);
        s.initSign(key);
        s.update(data);
        return s.sign();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("signing with " + algorithm + " failed", e);
      }
    }

    @Override
    public String toString() {
      return "Signer[" + identity + ", " + algorithm + "]";
    }
  }

  /** Checks signed data against the mesh CA. Immutable; thread-safe. */
  public static final class Verifier {
    private final Set<TrustAnchor> anchors;

    private Verifier(Set<TrustAnchor> anchors) {
      this.anchors = Set.copyOf(anchors);
    }

    /**
     * The SPIFFE ID of whoever signed {@code data}, once its certificate chain is valid at {@code at}
     * up to a trusted CA and {@code signature} is its key's over {@code data} with {@code algorithm}.
     *
     * @param certificateChain the signer's certificate first (DER), then any intermediates
     * @throws SignatureException saying what failed: the chain (unknown CA, expired, malformed), the
     *     algorithm, or the signature itself
     */
    public SpiffeId verify(byte[] data, byte[] signature, String algorithm, List<byte[]> certificateChain,
        Instant at) throws SignatureException {
      requireNonNull(data, "data");
      requireNonNull(signature, "signature");
      requireNonNull(algorithm, "algorithm");
      requireNonNull(certificateChain, "certificateChain");
      requireNonNull(at, "at");
      if (!algorithm.equals(ECDSA_SHA256) && !algorithm.equals(ED25519)) {
        throw new SignatureException("algorithm '" + algorithm + "' is not accepted (" + ECDSA_SHA256 + " or "
            + ED25519 + ")");
      }
      if (certificateChain.isEmpty() || certificateChain.size() > 4) {
        throw new SignatureException("a signer's chain holds 1 to 4 certificates, got " + certificateChain.size());
      }
      List<X509Certificate> chain = new ArrayList<>();
      X509Certificate leaf;
      try {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        for (byte[] der : certificateChain) {
          chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
        }
        leaf = chain.get(0);
        CertPath path = factory.generateCertPath(chain);
        PKIXParameters params = new PKIXParameters(anchors);
        params.setRevocationEnabled(false); // the mesh has no CRL/OCSP; leaves are short-lived
        params.setDate(Date.from(at));
        CertPathValidator.getInstance("PKIX").validate(path, params);
      } catch (GeneralSecurityException | RuntimeException e) {
        throw new SignatureException("the signer's certificate does not chain to the mesh CA at " + at + ": "
            + e.getMessage(), e);
      }
      boolean[] usage = leaf.getKeyUsage();
      if (usage != null && !usage[0]) {
        throw new SignatureException("the signer's certificate may not sign (no digitalSignature key usage)");
      }
      try {
        Signature s = Signature.getInstance(algorithm);
        s.initVerify(leaf.getPublicKey());
        s.update(data);
        if (!s.verify(signature)) {
          throw new SignatureException("the signature does not match the data and the signer's key");
        }
      } catch (SignatureException e) {
        throw e;
      } catch (GeneralSecurityException | RuntimeException e) {
        throw new SignatureException("the signature cannot be checked: " + e.getMessage(), e);
      }
      try {
        return SpiffeId.fromCertificate(leaf);
      } catch (IllegalArgumentException e) {
        throw new SignatureException(e.getMessage(), e);
      }
    }
  }
}
