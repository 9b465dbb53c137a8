package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
  private static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");

  @TempDir Path dir;

  private final MutableClock clock = new MutableClock(NOW);

  @Test
  void create_root_isSelfSignedP256CaWithTrustDomainSan() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    X509Certificate root = ca.certificate();

    root.verify(root.getPublicKey());
    assertThat(root.getSubjectX500Principal()).isEqualTo(root.getIssuerX500Principal());
    assertThat(root.getBasicConstraints()).isEqualTo(0);
    assertThat(root.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
    boolean[] keyUsage = root.getKeyUsage();
    assertThat(keyUsage[5]).as("keyCertSign").isTrue();
    assertThat(keyUsage[6]).as("cRLSign").isTrue();
    assertThat(keyUsage[0]).as("digitalSignature").isFalse();
    assertThat(SpiffeId.uriSans(root)).containsExactly("spiffe://mesh.local");
    assertThat(((ECPublicKey) root.getPublicKey()).getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
    assertThat(root.getSigAlgName()).isEqualTo("SHA256withECDSA");
    assertThat(root.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(365)));
    assertThat(root.getNotBefore().toInstant()).isEqualTo(NOW.minus(Duration.ofMinutes(1)));
    assertThat(ca.trustDomain()).isEqualTo("mesh.local");
  }

  @Test
  void create_invalidTrustDomain_namesIt() {
    assertThatThrownBy(() -> CertificateAuthority.create("Mesh Local", Duration.ofDays(1), clock))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("trust domain 'Mesh Local' is invalid");
  }

  @Test
  void create_zeroValidity_isRejected() {
    assertThatThrownBy(() -> CertificateAuthority.create("mesh.local", Duration.ZERO, clock))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("validity must be positive");
  }

  @Test
  void issue_leaf_chainsToTheCa() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    IssuedCertificate leaf = ca.issue(LeafRequest.builder(Role.EDGE, "us-east", "edge-1").build());

    assertThat(leaf.chain()).hasSize(2).endsWith(ca.certificate());
    validate(leaf.chain().subList(0, 1), ca.certificate(), NOW);
  }

  @Test
  void issue_leafFromAnotherCa_doesNotChainToTheCa() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    CertificateAuthority other = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    IssuedCertificate leaf = other.issue(LeafRequest.builder(Role.EDGE, "us-east", "edge-1").build());

    assertThatThrownBy(() -> validate(leaf.chain().subList(0, 1), ca.certificate(), NOW))
        .isInstanceOf(CertPathValidatorException.class);
  }

  @Test
  void issue_leaf_carriesSpiffeDnsAndIpSans() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    IssuedCertificate leaf = ca.issue(LeafRequest.builder(Role.CORE, "us-east", "core-0")
        .dnsName("core-0.mesh.local")
        .dnsName("LOCALHOST")
        .ipAddress("10.0.0.7")
        .ipAddress("fd00::7")
        .build());
    X509Certificate certificate = leaf.certificate();

    assertThat(leaf.spiffeId().toString()).isEqualTo("spiffe://mesh.local/us-east/core/core-0");
    assertThat(SpiffeId.uriSans(certificate)).containsExactly("spiffe://mesh.local/us-east/core/core-0");
    assertThat(certificate.getSubjectAlternativeNames())
        .contains(List.of(2, "core-0.mesh.local"), List.of(2, "localhost"), List.of(7, "10.0.0.7"));
    assertThat(certificate.getSubjectAlternativeNames().stream()
            .filter(san -> (Integer) san.get(0) == 7)
            .map(san -> san.get(1).toString()))
        .anySatisfy(ip -> assertThat(InetAddress.getByName(ip)).isEqualTo(InetAddress.getByName("fd00::7")));
    assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=core-0,OU=core,O=infermesh");
  }

  @Test
  void issue_leaf_isEndEntityForServerAndClientAuth() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    X509Certificate certificate = ca.issue(LeafRequest.builder(Role.EDGE, "r1", "e1").build()).certificate();

    assertThat(certificate.getBasicConstraints()).isEqualTo(-1);
    assertThat(certificate.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    boolean[] keyUsage = certificate.getKeyUsage();
    assertThat(keyUsage[0]).as("digitalSignature").isTrue();
    assertThat(keyUsage[5]).as("keyCertSign").isFalse();
    assertThat(keyUsage[6]).as("cRLSign").isFalse();
    assertThat(certificate.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
  }

  @Test
  void issue_validity_startsAMinuteEarlyAndLastsAsAsked() {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    clock.advance(Duration.ofDays(2));

    X509Certificate certificate = ca.issue(
        LeafRequest.builder(Role.EDGE, "r1", "e1").validity(Duration.ofDays(7)).build()).certificate();

    Instant issued = NOW.plus(Duration.ofDays(2));
    assertThat(certificate.getNotBefore().toInstant()).isEqualTo(issued.minus(Duration.ofMinutes(1)));
    assertThat(certificate.getNotAfter().toInstant()).isEqualTo(issued.plus(Duration.ofDays(7)));
  }

  @Test
  void issue_shortValidity_startsATenthOfItEarly() {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);

    X509Certificate certificate = ca.issue(
        LeafRequest.builder(Role.EDGE, "r1", "e1").validity(Duration.ofSeconds(20)).build()).certificate();

    assertThat(certificate.getNotBefore().toInstant()).isEqualTo(NOW.minus(Duration.ofSeconds(2)));
    assertThat(certificate.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofSeconds(20)));
  }

  @Test
  void issue_twice_givesDistinctPositiveSerialsAndKeys() {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    LeafRequest request = LeafRequest.builder(Role.EDGE, "r1", "e1").build();

    IssuedCertificate first = ca.issue(request);
    IssuedCertificate second = ca.issue(request);

    assertThat(first.certificate().getSerialNumber()).isPositive()
        .isNotEqualTo(second.certificate().getSerialNumber());
    assertThat(first.certificate().getSerialNumber().bitLength()).isEqualTo(128);
    assertThat(first.certificate().getPublicKey()).isNotEqualTo(second.certificate().getPublicKey());
  }

  @Test
  void issue_leafOutlivingTheCa_isRejected() {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(30), clock);

    assertThatThrownBy(() -> ca.issue(LeafRequest.builder(Role.EDGE, "r1", "e1").validity(Duration.ofDays(90)).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("after the CA expires")
        .hasMessageContaining("fewer days");
  }

  @Test
  void issue_expiredCa_isRejected() {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(30), clock);
    clock.advance(Duration.ofDays(31));

    assertThatThrownBy(() -> ca.issue(LeafRequest.builder(Role.EDGE, "r1", "e1").validity(Duration.ofDays(1)).build()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("CA certificate expired");
  }

  @Test
  void writeTo_thenLoad_roundTripsWithPrivateKeyMode0600() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    Path caDir = dir.resolve("nested/ca");

    ca.writeTo(caDir, false);
    CertificateAuthority loaded = CertificateAuthority.load(caDir, clock);

    assertThat(loaded.certificate()).isEqualTo(ca.certificate());
    assertThat(loaded.trustDomain()).isEqualTo("mesh.local");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(caDir.resolve("ca.key"))))
        .isEqualTo("rw-------");
    assertThat(Files.readString(caDir.resolve("ca.key"))).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(Files.readString(caDir.resolve("ca.crt"))).startsWith("-----BEGIN CERTIFICATE-----");
    assertThat(dir.resolve("nested/ca").toFile().list()).containsExactlyInAnyOrder("ca.crt", "ca.key");
    X509Certificate leaf = loaded.issue(LeafRequest.builder(Role.EDGE, "r1", "e1").build()).certificate();
    leaf.verify(ca.publicKey());
  }

  @Test
  void writeTo_existingFiles_refusesAndNamesTheFile() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    Files.writeString(dir.resolve("ca.key"), "precious");

    assertThatThrownBy(() -> ca.writeTo(dir, false))
        .isInstanceOf(FileAlreadyExistsException.class)
        .hasMessageContaining(dir.resolve("ca.key").toString());
    assertThat(Files.readString(dir.resolve("ca.key"))).isEqualTo("precious");
    assertThat(dir.resolve("ca.crt")).doesNotExist();
  }

  @Test
  void writeTo_overwrite_replacesTheFiles() throws Exception {
    CertificateAuthority first = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    CertificateAuthority second = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    first.writeTo(dir, false);

    second.writeTo(dir, true);

    assertThat(CertificateAuthority.load(dir, clock).certificate()).isEqualTo(second.certificate());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key"))))
        .isEqualTo("rw-------");
  }

  @Test
  void load_keyOfAnotherCa_isRejected() throws Exception {
    CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock).writeTo(dir.resolve("a"), false);
    CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock).writeTo(dir.resolve("b"), false);
    Files.copy(dir.resolve("b/ca.key"), dir.resolve("a/ca.key"), StandardCopyOption.REPLACE_EXISTING);

    assertThatThrownBy(() -> CertificateAuthority.load(dir.resolve("a"), clock))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("is not the private key of");
  }

  @Test
  void load_missingDirectory_namesTheFile() {
    assertThatThrownBy(() -> CertificateAuthority.load(dir.resolve("nope"), clock))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(dir.resolve("nope/ca.crt").toString());
  }

  @Test
  void load_leafDirectory_isNotACa() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    IssuedCertificate leaf = ca.issue(LeafRequest.builder(Role.EDGE, "r1", "e1").build());
    Files.write(dir.resolve("ca.crt"), PemFiles.encodeCertificates(List.of(leaf.certificate())));
    Files.write(dir.resolve("ca.key"), PemFiles.encodePrivateKey(leaf.privateKey()));

    assertThatThrownBy(() -> CertificateAuthority.load(dir, clock))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("is not a CA certificate");
  }

  @Test
  void writeTo_leaf_writesChainKeyAndBundle() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    IssuedCertificate leaf = ca.issue(LeafRequest.builder(Role.EDGE, "r1", "edge-1").build());

    MeshCredentialFiles files = leaf.writeTo(dir.resolve("edge"), false);

    assertThat(files).isEqualTo(MeshCredentialFiles.in(dir.resolve("edge"), "edge-1"));
    assertThat(PemFiles.readCertificates(files.certificateChain())).containsExactly(leaf.certificate(), ca.certificate());
    assertThat(PemFiles.readCertificates(files.trustBundle())).containsExactly(ca.certificate());
    assertThat(PemFiles.readPrivateKey(files.privateKey())).isEqualTo(leaf.privateKey());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(files.privateKey()))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(files.certificateChain())))
        .isEqualTo("rw-r--r--");
  }

  @Test
  void pem_leafAndCa_decodeBackAndMatchTheWrittenFiles() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    IssuedCertificate leaf = ca.issue(LeafRequest.builder(Role.GATEWAY, "r1", "envoy").build());
    MeshCredentialFiles files = leaf.writeTo(dir.resolve("gw"), false);

    String chain = leaf.certificateChainPem();
    String key = leaf.privateKeyPem();
    String bundle = ca.certificatePem();

    assertThat(chain).startsWith("-----BEGIN CERTIFICATE-----").endsWith("-----END CERTIFICATE-----\n");
    assertThat(chain.split("-----BEGIN CERTIFICATE-----", -1)).hasSize(3);
    assertThat(key).startsWith("-----BEGIN PRIVATE KEY-----").endsWith("-----END PRIVATE KEY-----\n");
    assertThat(PemFiles.decodeCertificates(Path.of("chain"), chain.getBytes(StandardCharsets.US_ASCII)))
        .containsExactly(leaf.certificate(), ca.certificate());
    assertThat(PemFiles.decodePrivateKey(Path.of("key"), key.getBytes(StandardCharsets.US_ASCII)))
        .isEqualTo(leaf.privateKey());
    assertThat(PemFiles.decodeCertificates(Path.of("bundle"), bundle.getBytes(StandardCharsets.US_ASCII)))
        .containsExactly(ca.certificate());
    assertThat(Files.readString(files.certificateChain(), StandardCharsets.US_ASCII)).isEqualTo(chain);
    assertThat(Files.readString(files.privateKey(), StandardCharsets.US_ASCII)).isEqualTo(key);
    assertThat(Files.readString(files.trustBundle(), StandardCharsets.US_ASCII)).isEqualTo(bundle);
  }

  @Test
  void writeTo_leafIntoCaDirectory_keepsTheCaCertificate() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    ca.writeTo(dir, false);
    byte[] before = Files.readAllBytes(dir.resolve("ca.crt"));

    CertificateAuthority.load(dir, clock).issue(LeafRequest.builder(Role.EDGE, "r1", "edge-1").build()).writeTo(dir, false);

    assertThat(Files.readAllBytes(dir.resolve("ca.crt"))).isEqualTo(before);
    assertThat(dir.toFile().list()).containsExactlyInAnyOrder("ca.crt", "ca.key", "edge-1.crt", "edge-1.key");
  }

  @Test
  void writeTo_existingLeaf_refusesAndWritesNothing() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    LeafRequest request = LeafRequest.builder(Role.EDGE, "r1", "edge-1").build();
    ca.issue(request).writeTo(dir, false);
    byte[] before = Files.readAllBytes(dir.resolve("edge-1.key"));
    Files.delete(dir.resolve("edge-1.crt"));

    assertThatThrownBy(() -> ca.issue(request).writeTo(dir, false))
        .isInstanceOf(FileAlreadyExistsException.class)
        .hasMessageContaining("edge-1.key");
    assertThat(Files.readAllBytes(dir.resolve("edge-1.key"))).isEqualTo(before);
    assertThat(dir.resolve("edge-1.crt")).doesNotExist();
  }

  @Test
  void writeTo_bundleOfAnotherCa_refusesWithoutOverwrite() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    CertificateAuthority other = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    other.writeTo(dir, false);
    IssuedCertificate leaf = ca.issue(LeafRequest.builder(Role.EDGE, "r1", "edge-1").build());

    assertThatThrownBy(() -> leaf.writeTo(dir, false))
        .isInstanceOf(FileAlreadyExistsException.class)
        .hasMessageContaining("ca.crt")
        .hasMessageContaining("different CA");
    leaf.writeTo(dir, true);
    assertThat(PemFiles.readCertificates(dir.resolve("ca.crt"))).containsExactly(ca.certificate());
  }

  @Test
  void writeTo_leafNamedCa_isRejected() {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(365), clock);
    IssuedCertificate leaf = ca.issue(LeafRequest.builder(Role.EDGE, "r1", "ca").build());

    assertThatThrownBy(() -> leaf.writeTo(dir, true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("collide");
  }

  @Test
  void leafRequest_hostNameAsIp_isRejectedWithoutLookup() {
    assertThatThrownBy(() -> LeafRequest.builder(Role.EDGE, "r1", "e1").ipAddress("example.com"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("IP address 'example.com' is invalid");
    assertThatThrownBy(() -> LeafRequest.builder(Role.EDGE, "r1", "e1").ipAddress("10.0.0.256"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LeafRequest.builder(Role.EDGE, "r1", "e1").ipAddress("1:2"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void leafRequest_badDnsName_isRejected() {
    assertThatThrownBy(() -> LeafRequest.builder(Role.EDGE, "r1", "e1").dnsName("bad_name.local"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("DNS name 'bad_name.local' is invalid");
    assertThatThrownBy(() -> LeafRequest.builder(Role.EDGE, "r1", "e1").dnsName("a.*.local"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void leafRequest_wildcardAndDuplicates_areNormalized() {
    LeafRequest request = LeafRequest.builder(Role.EDGE, "r1", "e1")
        .dnsName("*.Edge.Local.")
        .dnsName("*.edge.local")
        .build();

    assertThat(request.dnsNames()).containsExactly("*.edge.local");
  }

  @Test
  void leafRequest_negativeValidity_isRejected() {
    assertThatThrownBy(() -> LeafRequest.builder(Role.EDGE, "r1", "e1").validity(Duration.ofDays(-3)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("validity must be positive");
  }

  @Test
  void leafRequest_badName_namesTheSegment() {
    assertThatThrownBy(() -> LeafRequest.builder(Role.EDGE, "r1", "Edge 1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("name 'Edge 1' is invalid");
  }

  @Test
  void readPrivateKey_encryptedOrMissing_explains() throws Exception {
    Path encrypted = dir.resolve("enc.key");
    Files.writeString(encrypted, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n"
        + "-----END ENCRYPTED PRIVATE KEY-----\n", StandardCharsets.US_ASCII);
    Path certificateOnly = dir.resolve("ca.crt");
    CertificateAuthority.create("mesh.local", Duration.ofDays(1), Clock.systemUTC()).writeTo(dir, false);

    assertThatThrownBy(() -> PemFiles.readPrivateKey(encrypted)).isInstanceOf(IOException.class)
        .hasMessageContaining(encrypted.toString());
    assertThatThrownBy(() -> PemFiles.readPrivateKey(certificateOnly)).isInstanceOf(IOException.class)
        .hasMessageContaining("holds no PEM private key");
    assertThatThrownBy(() -> PemFiles.readCertificates(dir.resolve("ca.key"))).isInstanceOf(IOException.class)
        .hasMessageContaining("holds a private key, not a certificate");
  }

  private static void validate(List<X509Certificate> path, X509Certificate anchor, Instant at) throws Exception {
    PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(anchor, null)));
    parameters.setRevocationEnabled(false);
    parameters.setDate(Date.from(at));
    CertPathValidator.getInstance("PKIX").validate(
        CertificateFactory.getInstance("X.509").generateCertPath(path), parameters);
  }
}
