package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * A leaf issued by a {@link CertificateAuthority}: its SPIFFE ID, the chain (leaf first, then the
 * CA) and the private key. Immutable and thread-safe.
 */
public final class IssuedCertificate {
  private final SpiffeId spiffeId;
  private final List<X509Certificate> chain;
  private final PrivateKey privateKey;

  IssuedCertificate(SpiffeId spiffeId, List<X509Certificate> chain, PrivateKey privateKey) {
    this.spiffeId = requireNonNull(spiffeId, "spiffeId");
    this.chain = List.copyOf(chain);
    this.privateKey = requireNonNull(privateKey, "privateKey");
    if (this.chain.size() < 2) {
      throw new IllegalArgumentException("chain must hold the leaf and its CA, got " + this.chain.size());
    }
  }

  public SpiffeId spiffeId() {
    return spiffeId;
  }

  /** The leaf certificate. */
  public X509Certificate certificate() {
    return chain.get(0);
  }

  /** The leaf followed by the CA certificate. */
  public List<X509Certificate> chain() {
    return chain;
  }

  public PrivateKey privateKey() {
    return privateKey;
  }

  /**
   * The chain as PEM text, leaf first then the CA (what {@link #writeTo} puts in {@code <name>.crt}),
   * e.g. for an Envoy SDS secret. Each certificate is a {@code -----BEGIN CERTIFICATE-----} block.
   */
  public String certificateChainPem() {
    return PemFiles.encodeCertificatesText(chain);
  }

  /**
   * The private key as unencrypted PKCS#8 PEM text ({@code -----BEGIN PRIVATE KEY-----}), as
   * {@link #writeTo} puts it in {@code <name>.key}. A secret: never log it.
   */
  public String privateKeyPem() {
    return PemFiles.encodePrivateKeyText(privateKey);
  }

  /**
   * Writes {@code <name>.key} (mode 0600) and {@code <name>.crt} (leaf and CA) into
   * {@code directory}, creating it if needed, and makes sure the directory's trust bundle
   * {@value CertificateAuthority#CERTIFICATE_FILE} holds the CA: it is written when missing and
   * left alone when it already contains the CA (the CA's own directory, or a bundle of several
   * roots). Each file is written atomically, so a process reloading these files sees either the
   * old or the new version.
   *
   * @param overwrite whether existing files may be replaced; when false and a file exists, nothing
   *     is written
   * @return the paths written, ready for {@link MeshTls}
   * @throws FileAlreadyExistsException naming the first file that exists (when not overwriting),
   *     or the trust bundle when it holds other CAs but not this one
   * @throws IllegalArgumentException when the name would collide with the CA's own files
   */
  public MeshCredentialFiles writeTo(Path directory, boolean overwrite) throws IOException {
    requireNonNull(directory, "directory");
    String name = spiffeId.name();
    if (CertificateAuthority.CERTIFICATE_FILE.equals(name + ".crt")) {
      throw new IllegalArgumentException("name '" + name + "' would collide with the CA's "
          + CertificateAuthority.CERTIFICATE_FILE + "; choose another name");
    }
    MeshCredentialFiles files = MeshCredentialFiles.in(directory, name);
    List<PemFiles.Output> outputs = new ArrayList<>();
    outputs.add(new PemFiles.Output(files.privateKey(), PemFiles.encodePrivateKey(privateKey), true));
    outputs.add(new PemFiles.Output(files.certificateChain(), PemFiles.encodeCertificates(chain), false));
    X509Certificate ca = chain.get(chain.size() - 1);
    Path bundle = files.trustBundle();
    if (!Files.exists(bundle, LinkOption.NOFOLLOW_LINKS)) {
      outputs.add(new PemFiles.Output(bundle, PemFiles.encodeCertificates(List.of(ca)), false));
    } else if (!PemFiles.readCertificates(bundle).contains(ca)) {
      if (!overwrite) {
        throw new FileAlreadyExistsException(bundle.toString(), null,
            "already exists and holds a different CA");
      }
      outputs.add(new PemFiles.Output(bundle, PemFiles.encodeCertificates(List.of(ca)), false));
    }
    PemFiles.write(outputs, overwrite);
    return files;
  }

  @Override
  public String toString() {
    return "IssuedCertificate{" + spiffeId + ", serial=" + certificate().getSerialNumber().toString(16)
        + ", notAfter=" + certificate().getNotAfter().toInstant() + "}";
  }
}
