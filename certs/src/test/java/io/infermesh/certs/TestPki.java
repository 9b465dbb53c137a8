package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away mesh PKI for tests: a CA in a temporary directory and helpers that issue, expire
 * and rotate leaves. Each identity gets its own directory ({@code <root>/<name>/}) holding
 * {@code <name>.crt}, {@code <name>.key} and {@code ca.crt}, as {@code infermesh certs issue --out}
 * writes them. The CA is dated 60 days in the past so that already-expired leaves can be issued.
 * Not thread-safe.
 */
public final class TestPki {
  /** The trust domain of {@link #create(Path)}. */
  public static final String TRUST_DOMAIN = "mesh.test";
  /** The region every test identity is in. */
  public static final String REGION = "test-1";

  private final Path root;
  private final MutableClock clock;
  private final CertificateAuthority ca;

  private TestPki(Path root, MutableClock clock, CertificateAuthority ca) {
    this.root = root;
    this.clock = clock;
    this.ca = ca;
  }

  /** A PKI for {@link #TRUST_DOMAIN} under {@code root} (its CA files in {@code root/ca/}). */
  public static TestPki create(Path root) {
    return create(root, TRUST_DOMAIN);
  }

  /** A PKI for {@code trustDomain} under {@code root} (its CA files in {@code root/ca/}). */
  public static TestPki create(Path root, String trustDomain) {
    requireNonNull(root, "root");
    Instant now = Clock.systemUTC().instant();
    MutableClock clock = new MutableClock(now.minus(Duration.ofDays(60)));
    CertificateAuthority ca = CertificateAuthority.create(trustDomain, Duration.ofDays(3650), clock);
    clock.set(now);
    try {
      ca.writeTo(root.resolve("ca"), false);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new TestPki(root, clock, ca);
  }

  public CertificateAuthority ca() {
    return ca;
  }

  public String trustDomain() {
    return ca.trustDomain();
  }

  /** The CA directory ({@code ca.crt}, {@code ca.key}). */
  public Path caDirectory() {
    return root.resolve("ca");
  }

  /** The SPIFFE ID {@link #issue} gives {@code name}. */
  public SpiffeId idOf(Role role, String name) {
    return new SpiffeId(ca.trustDomain(), REGION, role, name);
  }

  /** A leaf valid for a day, not written anywhere. */
  public IssuedCertificate leaf(Role role, String name) {
    return ca.issue(request(role, name).validity(Duration.ofDays(1)).build());
  }

  /**
   * Issues a leaf valid for a day (with SANs {@code localhost} and {@code 127.0.0.1}) and writes it
   * to {@code <root>/<name>/}.
   */
  public MeshCredentialFiles issue(Role role, String name) {
    return write(leaf(role, name), root.resolve(name));
  }

  /** Issues a leaf that expired nine days ago and writes it to {@code <root>/<name>/}. */
  public MeshCredentialFiles issueExpired(Role role, String name) {
    Instant now = clock.instant();
    clock.set(now.minus(Duration.ofDays(10)));
    try {
      return write(ca.issue(request(role, name).validity(Duration.ofDays(1)).build()), root.resolve(name));
    } finally {
      clock.set(now);
    }
  }

  /** Issues a leaf whose validity starts ten days from now and writes it to {@code <root>/<name>/}. */
  public MeshCredentialFiles issueNotYetValid(Role role, String name) {
    Instant now = clock.instant();
    clock.set(now.plus(Duration.ofDays(10)));
    try {
      return write(ca.issue(request(role, name).validity(Duration.ofDays(1)).build()), root.resolve(name));
    } finally {
      clock.set(now);
    }
  }

  /**
   * A leaf signed by this CA, valid for a day, whose only URI SAN is {@code uriSan} taken as is
   * ({@code null}: no URI SAN at all), with SANs {@code localhost} and {@code 127.0.0.1}, written to
   * {@code <root>/<name>/}: the identities the issuing API refuses to make (malformed SPIFFE IDs,
   * none, another trust domain), to show that servers refuse them too.
   */
  public MeshCredentialFiles issueRaw(String name, String uriSan) {
    try {
      PrivateKey caKey = PemFiles.readPrivateKey(caDirectory().resolve(CertificateAuthority.PRIVATE_KEY_FILE));
      SecureRandom random = new SecureRandom();
      KeyPair keys = Keys.newEcP256(random);
      Instant now = clock.instant();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca.certificate(),
          new BigInteger(127, random).setBit(126), Date.from(now.minus(Duration.ofMinutes(1))),
          Date.from(now.plus(Duration.ofDays(1))), new X500Name("O=infermesh,CN=" + name), keys.getPublic());
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
          new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      List<GeneralName> sans = new ArrayList<>();
      if (uriSan != null) {
        sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, uriSan));
      }
      sans.add(new GeneralName(GeneralName.dNSName, "localhost"));
      sans.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
      X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(
          builder.build(new JcaContentSignerBuilder(Keys.SIGNATURE_ALGORITHM).build(caKey)));
      MeshCredentialFiles files = MeshCredentialFiles.in(root.resolve(name), name);
      PemFiles.write(List.of(
          new PemFiles.Output(files.privateKey(), PemFiles.encodePrivateKey(keys.getPrivate()), true),
          new PemFiles.Output(files.certificateChain(), PemFiles.encodeCertificates(List.of(leaf, ca.certificate())),
              false),
          new PemFiles.Output(files.trustBundle(), PemFiles.encodeCertificates(List.of(ca.certificate())), false)),
          false);
      return files;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot build the test certificate " + name, e);
    }
  }

  /**
   * Replaces the certificate and key at {@code files} with {@code leaf}, each file atomically, as
   * a rotation tool would; the trust bundle is left alone.
   */
  public static void replace(MeshCredentialFiles files, IssuedCertificate leaf) {
    try {
      CertificateRenewal.install(leaf, files);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static LeafRequest.Builder request(Role role, String name) {
    return LeafRequest.builder(role, REGION, name).dnsName("localhost").ipAddress("127.0.0.1");
  }

  private static MeshCredentialFiles write(IssuedCertificate leaf, Path directory) {
    try {
      return leaf.writeTo(directory, false);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
