package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mesh certificate authority: a self-signed ECDSA P-256 root for one trust domain, and the
 * leaves it issues.
 *
 * <p>The root has {@code basicConstraints CA:true, pathlen:0} (it signs leaves only), key usage
 * {@code keyCertSign, cRLSign}, and the URI SAN {@code spiffe://<trust-domain>}. A leaf has the URI
 * SAN {@code spiffe://<trust-domain>/<region>/<role>/<name>} plus the requested DNS and IP SANs,
 * {@code CA:false}, key usage {@code digitalSignature} and extended key usage {@code serverAuth,
 * clientAuth}, so the same certificate serves and calls. Validity starts one minute before the
 * clock's now, to absorb clock skew between machines; a leaf valid for less than ten minutes
 * starts a tenth of its validity early instead, so that a short-lived certificate renewed at a
 * fraction of its lifetime is not mostly spent the moment it is issued.
 *
 * <p>On disk a CA is a directory holding {@value #CERTIFICATE_FILE} and {@value #PRIVATE_KEY_FILE}
 * (PEM; the key PKCS#8, mode 0600). Instances are immutable and thread-safe.
 */
public final class CertificateAuthority {
  /** The CA certificate's file name; it is also every node's trust bundle. */
  public static final String CERTIFICATE_FILE = "ca.crt";
  /** The CA private key's file name (mode 0600). */
  public static final String PRIVATE_KEY_FILE = "ca.key";
  /** The validity of a CA when none is given: ten years. */
  public static final Duration DEFAULT_VALIDITY = Duration.ofDays(3650);

  private static final Logger log = LoggerFactory.getLogger(CertificateAuthority.class);
  private static final Duration BACKDATE = Duration.ofMinutes(1);
  private static final int SERIAL_BITS = 128;

  private final String trustDomain;
  private final X509Certificate certificate;
  private final PrivateKey privateKey;
  private final Clock clock;
  private final SecureRandom random;

  private CertificateAuthority(
      String trustDomain, X509Certificate certificate, PrivateKey privateKey, Clock clock) {
    this.trustDomain = trustDomain;
    this.certificate = certificate;
    this.privateKey = privateKey;
    this.clock = clock;
    this.random = new SecureRandom();
  }

  /**
   * Creates a new root for {@code trustDomain}, valid for {@code validity} from the clock's now.
   * Nothing is written; see {@link #writeTo(Path, boolean)}.
   *
   * @throws IllegalArgumentException when the trust domain is not a lower-case DNS-like name or
   *     the validity is not positive
   */
  public static CertificateAuthority create(String trustDomain, Duration validity, Clock clock) {
    SpiffeId.requireValidTrustDomain(trustDomain);
    Durations.requirePositive(validity, "validity");
    requireNonNull(clock, "clock");
    SecureRandom random = new SecureRandom();
    KeyPair keyPair = Keys.newEcP256(random);
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, "infermesh")
        .addRDN(BCStyle.CN, "infermesh CA " + trustDomain)
        .build();
    Instant now = clock.instant();
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        subject, serial(random), Date.from(now.minus(BACKDATE)), Date.from(now.plus(validity)),
        subject, keyPair.getPublic());
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(Extension.subjectKeyIdentifier, false,
          extensions.createSubjectKeyIdentifier(keyPair.getPublic()));
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
          new GeneralName(GeneralName.uniformResourceIdentifier, SpiffeId.trustDomainUri(trustDomain))));
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot build the CA certificate", e);
    }
    X509Certificate certificate = sign(builder, keyPair.getPrivate());
    return new CertificateAuthority(trustDomain, certificate, keyPair.getPrivate(), clock);
  }

  /**
   * Loads the CA in {@code directory} ({@value #CERTIFICATE_FILE} and {@value #PRIVATE_KEY_FILE}).
   *
   * @throws IOException naming the file when a file is missing or unreadable, when the key does not
   *     belong to the certificate, or when the certificate is not an infermesh CA
   */
  public static CertificateAuthority load(Path directory, Clock clock) throws IOException {
    requireNonNull(directory, "directory");
    requireNonNull(clock, "clock");
    Path certificateFile = directory.resolve(CERTIFICATE_FILE);
    Path keyFile = directory.resolve(PRIVATE_KEY_FILE);
    List<X509Certificate> certificates = PemFiles.readCertificates(certificateFile);
    if (certificates.size() != 1) {
      throw new IOException(certificateFile + ": holds " + certificates.size()
          + " certificates; a CA directory holds exactly its own certificate");
    }
    X509Certificate certificate = certificates.get(0);
    PrivateKey key = PemFiles.readPrivateKey(keyFile);
    if (!Keys.matches(key, certificate.getPublicKey())) {
      throw new IOException(keyFile + ": is not the private key of " + certificateFile);
    }
    if (certificate.getBasicConstraints() < 0) {
      throw new IOException(certificateFile + ": is not a CA certificate (basicConstraints CA is false)");
    }
    String trustDomain = trustDomainOf(certificateFile, certificate);
    warnIfReadableByOthers(keyFile);
    return new CertificateAuthority(trustDomain, certificate, key, clock);
  }

  private static String trustDomainOf(Path file, X509Certificate certificate) throws IOException {
    String prefix = SpiffeId.SCHEME + "://";
    for (String uri : SpiffeId.uriSans(certificate)) {
      if (uri.startsWith(prefix)) {
        String trustDomain = uri.substring(prefix.length());
        try {
          return SpiffeId.requireValidTrustDomain(trustDomain);
        } catch (IllegalArgumentException e) {
          throw new IOException(file + ": " + e.getMessage(), e);
        }
      }
    }
    throw new IOException(file + ": has no spiffe://<trust-domain> URI SAN; it is not an infermesh CA");
  }

  private static void warnIfReadableByOthers(Path keyFile) {
    try {
      Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(keyFile);
      Set<PosixFilePermission> others = EnumSet.of(
          PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
          PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);
      others.retainAll(permissions);
      if (!others.isEmpty()) {
        log.warn("{} is accessible to other users ({}); run 'chmod 600 {}'", keyFile, others, keyFile);
      }
    } catch (UnsupportedOperationException | IOException e) {
      // Not a POSIX file system: nothing to check.
    }
  }

  /**
   * Writes {@value #CERTIFICATE_FILE} and {@value #PRIVATE_KEY_FILE} (mode 0600) into
   * {@code directory}, creating it if needed. Each file is written atomically.
   *
   * @param overwrite whether existing files may be replaced; when false and either exists, nothing
   *     is written
   * @throws java.nio.file.FileAlreadyExistsException naming the file that exists
   */
  public void writeTo(Path directory, boolean overwrite) throws IOException {
    requireNonNull(directory, "directory");
    PemFiles.write(List.of(
        new PemFiles.Output(directory.resolve(PRIVATE_KEY_FILE), PemFiles.encodePrivateKey(privateKey), true),
        new PemFiles.Output(directory.resolve(CERTIFICATE_FILE),
            PemFiles.encodeCertificates(List.of(certificate)), false)),
        overwrite);
  }

  /**
   * Issues a leaf for {@code request} in this CA's trust domain, with a fresh P-256 key.
   *
   * @throws IllegalStateException when this CA is expired or not yet valid
   * @throws IllegalArgumentException when the leaf would outlive this CA
   */
  public IssuedCertificate issue(LeafRequest request) {
    requireNonNull(request, "request");
    SpiffeId id = request.spiffeId(trustDomain);
    KeyPair keyPair = Keys.newEcP256(random);
    X509Certificate leaf = signLeaf(id, keyPair.getPublic(), request.dnsNames(), request.ipAddresses(),
        request.validity());
    return new IssuedCertificate(id, List.of(leaf, certificate), keyPair.getPrivate());
  }

  /**
   * Certifies the key of a checked signing request (its signature verified by {@link
   * CertificateSigningRequest#parse}) for the identity and names it asks for, valid for {@code
   * validity} from now. Deciding whether the caller may have that identity is the caller's job
   * ({@link RenewalSigner} does it for renewals).
   *
   * @return the chain: the new leaf, then this CA
   * @throws IllegalStateException when this CA is expired or not yet valid
   * @throws IllegalArgumentException when the request is for another trust domain or the leaf
   *     would outlive this CA
   */
  public List<X509Certificate> sign(CertificateSigningRequest request, Duration validity) {
    requireNonNull(request, "request");
    Durations.requirePositive(validity, "validity");
    SpiffeId id = request.spiffeId();
    if (!id.trustDomain().equals(trustDomain)) {
      throw new IllegalArgumentException("the request is for " + id + ", outside this CA's trust domain "
          + trustDomain);
    }
    X509Certificate leaf = signLeaf(id, request.publicKey(), request.dnsNames(), request.ipAddresses(), validity);
    return List.of(leaf, certificate);
  }

  private X509Certificate signLeaf(SpiffeId id, PublicKey publicKey, List<String> dnsNames,
      List<InetAddress> ipAddresses, Duration validity) {
    Instant now = clock.instant();
    Instant caNotAfter = certificate.getNotAfter().toInstant();
    if (now.isAfter(caNotAfter)) {
      throw new IllegalStateException("the CA certificate expired at " + caNotAfter
          + "; create a new CA and reissue every certificate");
    }
    if (now.isBefore(certificate.getNotBefore().toInstant())) {
      throw new IllegalStateException("the CA certificate is not valid before "
          + certificate.getNotBefore().toInstant() + "; check this machine's clock");
    }
    Instant notAfter = now.plus(validity);
    if (notAfter.isAfter(caNotAfter)) {
      throw new IllegalArgumentException("a leaf valid for " + validity.toDays()
          + " days would end at " + notAfter + ", after the CA expires at " + caNotAfter
          + "; ask for fewer days");
    }
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, "infermesh")
        .addRDN(BCStyle.OU, id.role().pathName())
        .addRDN(BCStyle.CN, id.name())
        .build();
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        certificate, serial(random), Date.from(now.minus(backdate(validity))), Date.from(notAfter),
        subject, publicKey);
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
          new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      builder.addExtension(Extension.subjectKeyIdentifier, false,
          extensions.createSubjectKeyIdentifier(publicKey));
      builder.addExtension(Extension.authorityKeyIdentifier, false,
          extensions.createAuthorityKeyIdentifier(certificate));
      builder.addExtension(Extension.subjectAlternativeName, false,
          subjectAlternativeNames(id, dnsNames, ipAddresses));
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot build the leaf certificate for " + id, e);
    }
    return sign(builder, privateKey);
  }

  /** How much earlier than now a leaf valid for {@code validity} starts: a minute, or a tenth of a short validity. */
  static Duration backdate(Duration validity) {
    Duration tenth = validity.dividedBy(10);
    return tenth.compareTo(BACKDATE) < 0 ? tenth : BACKDATE;
  }

  private static GeneralNames subjectAlternativeNames(SpiffeId id, List<String> dnsNames,
      List<InetAddress> ipAddresses) {
    List<GeneralName> names = new ArrayList<>();
    names.add(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString()));
    for (String dnsName : dnsNames) {
      names.add(new GeneralName(GeneralName.dNSName, dnsName));
    }
    for (InetAddress address : ipAddresses) {
      names.add(new GeneralName(GeneralName.iPAddress, address.getHostAddress()));
    }
    return new GeneralNames(names.toArray(GeneralName[]::new));
  }

  /** The trust domain this CA issues for, e.g. {@code mesh.local}. */
  public String trustDomain() {
    return trustDomain;
  }

  /** The self-signed CA certificate: the trust bundle of every node. */
  public X509Certificate certificate() {
    return certificate;
  }

  /**
   * The CA certificate as PEM text ({@code -----BEGIN CERTIFICATE-----}), what {@link #writeTo}
   * puts in {@value #CERTIFICATE_FILE}: a trust bundle ready for an Envoy SDS validation context.
   */
  public String certificatePem() {
    return PemFiles.encodeCertificatesText(List.of(certificate));
  }

  /** The CA's public key. */
  public PublicKey publicKey() {
    return certificate.getPublicKey();
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signingKey) {
    try {
      return new JcaX509CertificateConverter().getCertificate(
          builder.build(new JcaContentSignerBuilder(Keys.SIGNATURE_ALGORITHM).build(signingKey)));
    } catch (OperatorCreationException | CertificateException e) {
      throw new IllegalStateException("cannot sign a certificate with " + Keys.SIGNATURE_ALGORITHM, e);
    }
  }

  /** A positive random serial of {@value #SERIAL_BITS} bits (RFC 5280 allows up to 20 octets). */
  private static BigInteger serial(SecureRandom random) {
    return new BigInteger(SERIAL_BITS, random).setBit(SERIAL_BITS - 1);
  }

  @Override
  public String toString() {
    return "CertificateAuthority{" + SpiffeId.trustDomainUri(trustDomain) + ", notAfter="
        + certificate.getNotAfter().toInstant() + "}";
  }
}
