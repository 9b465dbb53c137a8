package io.infermesh.xds.signer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.CertificateSignerGrpc;
import io.infermesh.api.v1.RenewRequest;
import io.infermesh.api.v1.RenewResponse;
import io.infermesh.certs.CertificateRenewal;
import io.infermesh.certs.CertificateSigningRequest;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.IssuedCertificate;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.certs.TestPki;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The signer over real mutual TLS: who may renew what, and what comes back. */
class SignerServerTest {
  private static final Duration TTL = Duration.ofMinutes(10);

  @TempDir Path dir;

  private TestPki pki;
  private Path denyList;
  private SignerServer signer;
  private final List<AutoCloseable> closeAfter = new ArrayList<>();

  @BeforeEach
  void startSigner() throws Exception {
    pki = TestPki.create(dir);
    denyList = dir.resolve("deny.txt");
    Files.writeString(denyList, "# revoked devices\n" + pki.idOf(Role.EDGE, "stolen") + "\n");
    signer = SignerServer.start(SignerServer.Settings.builder(pki.caDirectory(), pki.issue(Role.CONTROL, "signer"))
        .port(0).bindAddress("127.0.0.1").validity(TTL).denyList(denyList, Duration.ofMinutes(1))
        .allowedRoles(Set.of(Role.EDGE)).build());
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closeAfter) {
      c.close();
    }
    signer.close();
  }

  @Test
  void renew_ownIdentity_returnsChainWithNewSerialValidForTtl() throws Exception {
    MeshTls edge = tls(pki.issue(Role.EDGE, "edge-1"));
    CertificateRenewal renewal = CertificateRenewal.of(edge.certificate());

    RenewResponse response = stub(edge).renew(request(renewal.request().encoded()));

    List<X509Certificate> chain = decode(response);
    IssuedCertificate renewed = renewal.complete(chain, edge.files().trustBundle());
    assertThat(renewed.spiffeId()).isEqualTo(pki.idOf(Role.EDGE, "edge-1"));
    assertThat(renewed.certificate().getSerialNumber()).isNotEqualTo(edge.certificate().getSerialNumber());
    assertThat(Duration.between(renewed.certificate().getNotBefore().toInstant(),
        renewed.certificate().getNotAfter().toInstant())).isEqualTo(TTL.plusMinutes(1)); // backdated a minute
    assertThat(response.getNotAfterUnixMillis()).isEqualTo(renewed.certificate().getNotAfter().getTime());
    assertThat(chain.get(1)).isEqualTo(pki.ca().certificate());
  }

  @Test
  void renew_csrNamingAnotherIdentity_isPermissionDenied() throws Exception {
    MeshTls edge = tls(pki.issue(Role.EDGE, "edge-1"));
    SpiffeId core = pki.idOf(Role.CORE, "core-0");
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    byte[] csr = CertificateSigningRequest.create(core, List.of(), List.of(), generator.generateKeyPair()).encoded();

    assertRefused(() -> stub(edge).renew(request(csr)), Status.Code.PERMISSION_DENIED,
        "the request is for " + core + " but the caller is " + pki.idOf(Role.EDGE, "edge-1")
            + "; a certificate renews only its own identity");
  }

  @Test
  void renew_garbageCsr_isInvalidArgument() throws Exception {
    MeshTls edge = tls(pki.issue(Role.EDGE, "edge-1"));

    assertRefused(() -> stub(edge).renew(request(new byte[] {0x30, 0x03, 1, 2, 3})), Status.Code.INVALID_ARGUMENT,
        "not a DER PKCS#10 certificate signing request");
  }

  @Test
  void renew_revokedIdentity_isPermissionDenied() throws Exception {
    MeshTls stolen = tls(pki.issue(Role.EDGE, "stolen"));

    assertRefused(() -> stub(stolen).renew(request(CertificateRenewal.of(stolen.certificate()).request().encoded())),
        Status.Code.PERMISSION_DENIED, "identity " + pki.idOf(Role.EDGE, "stolen") + " is revoked");
  }

  @Test
  void renew_roleNotAllowed_isPermissionDenied() throws Exception {
    MeshTls core = tls(pki.issue(Role.CORE, "core-0"));

    assertRefused(() -> stub(core).renew(request(CertificateRenewal.of(core.certificate()).request().encoded())),
        Status.Code.PERMISSION_DENIED, "role 'core' may not call infermesh.v1.CertificateSigner/Renew");
  }

  private MeshTls tls(MeshCredentialFiles files) throws Exception {
    MeshTls tls = MeshTls.builder(files).build();
    closeAfter.add(tls);
    return tls;
  }

  private CertificateSignerGrpc.CertificateSignerBlockingStub stub(MeshTls tls) {
    ManagedChannel channel = MeshChannels.newChannel("127.0.0.1:" + signer.port(), tls,
        ExpectedIdentity.roles(Role.CONTROL));
    closeAfter.add(0, () -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return CertificateSignerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static RenewRequest request(byte[] csr) {
    return RenewRequest.newBuilder().setCsr(ByteString.copyFrom(csr)).build();
  }

  private static List<X509Certificate> decode(RenewResponse response) throws Exception {
    CertificateFactory factory = CertificateFactory.getInstance("X.509");
    List<X509Certificate> chain = new ArrayList<>();
    for (ByteString der : response.getCertificateChainList()) {
      chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der.toByteArray())));
    }
    return chain;
  }

  private static void assertRefused(Runnable call, Status.Code code, String description) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      assertThat(e.getStatus().getDescription()).isEqualTo(description);
    });
  }
}
