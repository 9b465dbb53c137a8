package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reload rules, driven synchronously: what is swapped in, and what is refused. */
class CredentialReloaderTest {
  @TempDir Path dir;

  private TestPki pki;
  private MeshCredentialFiles files;
  private CredentialReloader reloader;

  @BeforeEach
  void setUp() throws IOException {
    pki = TestPki.create(dir);
    files = pki.issue(Role.EDGE, "edge-1");
    reloader = new CredentialReloader(files, Clock.systemUTC());
  }

  @Test
  void constructor_files_loadIdentityIntoKeyManager() {
    assertThat(reloader.identity().id()).isEqualTo(pki.idOf(Role.EDGE, "edge-1"));
    assertThat(reloader.trustDomain()).isEqualTo(TestPki.TRUST_DOMAIN);
    assertThat(servedLeaf()).isEqualTo(reloader.identity().chain().get(0));
  }

  @Test
  void refresh_rotatedFiles_swapsIdentity() {
    IssuedCertificate next = pki.leaf(Role.EDGE, "edge-2");
    TestPki.replace(files, next);

    reloader.refresh();

    assertThat(reloader.identity().id()).isEqualTo(pki.idOf(Role.EDGE, "edge-2"));
    assertThat(servedLeaf()).isEqualTo(next.certificate());
    assertThat(reloader.keyManager().getPrivateKey(alias())).isEqualTo(next.privateKey());
  }

  @Test
  void refresh_onlyCertificateReplaced_keepsPreviousUntilKeyFollows() throws IOException {
    X509Certificate before = servedLeaf();
    IssuedCertificate next = pki.leaf(Role.EDGE, "edge-2");
    Files.write(files.certificateChain(), PemFiles.encodeCertificates(next.chain()));

    reloader.refresh();

    assertThat(servedLeaf()).isEqualTo(before);
    assertThat(reloader.identity().id()).isEqualTo(pki.idOf(Role.EDGE, "edge-1"));

    Files.write(files.privateKey(), PemFiles.encodePrivateKey(next.privateKey()));
    reloader.refresh();

    assertThat(servedLeaf()).isEqualTo(next.certificate());
  }

  @Test
  void refresh_garbageCertificate_keepsPreviousThenRecovers() throws IOException {
    X509Certificate before = servedLeaf();
    Files.writeString(files.certificateChain(), "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");

    reloader.refresh();
    reloader.refresh();

    assertThat(servedLeaf()).isEqualTo(before);
    IssuedCertificate next = pki.leaf(Role.EDGE, "edge-3");
    TestPki.replace(files, next);
    reloader.refresh();
    assertThat(servedLeaf()).isEqualTo(next.certificate());
  }

  @Test
  void refresh_deletedFiles_keepsPrevious() throws IOException {
    X509Certificate before = servedLeaf();
    Files.delete(files.certificateChain());

    reloader.refresh();

    assertThat(servedLeaf()).isEqualTo(before);
  }

  @Test
  void refresh_certificateOfAnotherTrustDomain_isRefused() {
    X509Certificate before = servedLeaf();
    TestPki other = TestPki.create(dir.resolve("other"), "other.test");
    TestPki.replace(files, other.leaf(Role.EDGE, "edge-1"));

    reloader.refresh();

    assertThat(servedLeaf()).isEqualTo(before);
    assertThat(reloader.trustDomain()).isEqualTo(TestPki.TRUST_DOMAIN);
  }

  @Test
  void refresh_rotatedTrustBundle_reachesRegisteredTrustManagers() throws Exception {
    AdvancedTlsX509TrustManager trustManager = AdvancedTlsX509TrustManager.newBuilder()
        .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
        .build();
    reloader.register(trustManager);
    assertThat(trustManager.getAcceptedIssuers()).containsExactly(pki.ca().certificate());
    TestPki next = TestPki.create(dir.resolve("next-ca"));
    Files.write(files.trustBundle(), PemFiles.encodeCertificates(
        List.of(pki.ca().certificate(), next.ca().certificate())));

    reloader.refresh();

    assertThat(trustManager.getAcceptedIssuers())
        .containsExactlyInAnyOrder(pki.ca().certificate(), next.ca().certificate());
  }

  @Test
  void refresh_bundleWithLeafCertificate_isRefused() throws Exception {
    AdvancedTlsX509TrustManager trustManager = AdvancedTlsX509TrustManager.newBuilder().build();
    reloader.register(trustManager);
    Files.write(files.trustBundle(), PemFiles.encodeCertificates(List.of(pki.leaf(Role.CORE, "c").certificate())));

    reloader.refresh();

    assertThat(trustManager.getAcceptedIssuers()).containsExactly(pki.ca().certificate());
  }

  @Test
  void constructor_missingKey_namesTheFile() throws IOException {
    Files.delete(files.privateKey());

    assertThatThrownBy(() -> new CredentialReloader(files, Clock.systemUTC()))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining(files.privateKey().toString());
  }

  @Test
  void constructor_keyOfAnotherCertificate_namesBothFiles() throws IOException {
    Files.write(files.privateKey(), PemFiles.encodePrivateKey(pki.leaf(Role.EDGE, "x").privateKey()));

    assertThatThrownBy(() -> new CredentialReloader(files, Clock.systemUTC()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(files.privateKey().toString())
        .hasMessageContaining(files.certificateChain().toString());
  }

  @Test
  void constructor_certificateWithoutSpiffeId_isRefused() throws IOException {
    CertificateAuthority ca = pki.ca();
    // The CA certificate and key are a consistent pair but not a mesh workload identity.
    Files.copy(pki.caDirectory().resolve("ca.crt"), files.certificateChain(), StandardCopyOption.REPLACE_EXISTING);
    Files.copy(pki.caDirectory().resolve("ca.key"), files.privateKey(), StandardCopyOption.REPLACE_EXISTING);

    assertThatThrownBy(() -> new CredentialReloader(files, Clock.systemUTC()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not a mesh SPIFFE ID")
        .hasMessageContaining(ca.trustDomain());
  }

  private String alias() {
    return reloader.keyManager().chooseEngineServerAlias("EC", null, null);
  }

  private X509Certificate servedLeaf() {
    return reloader.keyManager().getCertificateChain(alias())[0];
  }
}
