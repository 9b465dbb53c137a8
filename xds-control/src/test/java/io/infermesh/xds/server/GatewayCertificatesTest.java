package io.infermesh.xds.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.IssuedCertificate;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.Role;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Gateway identities read from files issued ahead: only gateways of the trust domain, only their own key. */
class GatewayCertificatesTest {
  @TempDir Path dir;

  private final CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(30),
      Clock.systemUTC());

  private IssuedCertificate issue(CertificateAuthority from, Role role, String name) throws IOException {
    IssuedCertificate leaf = from.issue(LeafRequest.builder(role, "eu-west", name).validity(Duration.ofDays(1)).build());
    leaf.writeTo(dir, true);
    return leaf;
  }

  @Test
  void reload_directoryOfCredentials_servesEachGatewayItsOwnAndNothingElse() throws Exception {
    IssuedCertificate gw1 = issue(ca, Role.GATEWAY, "envoy-1");
    issue(ca, Role.GATEWAY, "envoy-2");
    issue(ca, Role.CONTROL, "control");
    issue(ca, Role.EDGE, "edge-1");
    GatewayCertificates certs = new GatewayCertificates(dir, "mesh.local", Clock.systemUTC());

    assertThat(certs.reload()).isTrue();

    assertThat(certs.current().identitiesBySpiffeId()).containsOnlyKeys(
        "spiffe://mesh.local/eu-west/gateway/envoy-1", "spiffe://mesh.local/eu-west/gateway/envoy-2");
    assertThat(certs.current().identity("spiffe://mesh.local/eu-west/gateway/envoy-1").orElseThrow().privateKeyPem())
        .isEqualTo(Files.readString(dir.resolve("envoy-1.key"))).isEqualTo(gw1.privateKeyPem());
    assertThat(certs.current().trustBundlePem()).isEqualTo(ca.certificatePem());
    assertThat(certs.reload()).as("nothing changed").isFalse();
  }

  @Test
  void reload_reissuedCertificate_isPickedUp() throws Exception {
    issue(ca, Role.GATEWAY, "envoy-1");
    GatewayCertificates certs = new GatewayCertificates(dir, "mesh.local", Clock.systemUTC());
    certs.reload();
    String before = certs.current().identity("spiffe://mesh.local/eu-west/gateway/envoy-1").orElseThrow()
        .certificateChainPem();

    issue(ca, Role.GATEWAY, "envoy-1");

    assertThat(certs.reload()).isTrue();
    assertThat(certs.current().identity("spiffe://mesh.local/eu-west/gateway/envoy-1").orElseThrow()
        .certificateChainPem()).isNotEqualTo(before);
  }

  @Test
  void reload_gatewayOfAnotherTrustDomainOrCertificateWithoutKey_isSkipped() throws Exception {
    issue(ca, Role.GATEWAY, "envoy-1");
    CertificateAuthority other = CertificateAuthority.create("other.local", Duration.ofDays(30), Clock.systemUTC());
    other.issue(LeafRequest.builder(Role.GATEWAY, "eu-west", "stranger").validity(Duration.ofDays(1)).build())
        .writeTo(dir, true);
    issue(ca, Role.GATEWAY, "keyless");
    Files.delete(dir.resolve("keyless.key"));
    GatewayCertificates certs = new GatewayCertificates(dir, "mesh.local", Clock.systemUTC());

    certs.reload();

    assertThat(certs.current().identitiesBySpiffeId()).containsOnlyKeys("spiffe://mesh.local/eu-west/gateway/envoy-1");
  }

  @Test
  void reload_withoutTrustBundle_failsNamingTheFile() {
    GatewayCertificates certs = new GatewayCertificates(dir, "mesh.local", Clock.systemUTC());
    assertThatThrownBy(certs::reload).isInstanceOf(IOException.class).hasMessageContaining("ca.crt");
  }
}
