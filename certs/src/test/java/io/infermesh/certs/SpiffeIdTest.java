package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpiffeIdTest {

  @Test
  void parse_validId_returnsEverySegment() {
    SpiffeId id = SpiffeId.parse("spiffe://mesh.local/us-east/edge/edge-1");

    assertThat(id.trustDomain()).isEqualTo("mesh.local");
    assertThat(id.region()).isEqualTo("us-east");
    assertThat(id.role()).isEqualTo(Role.EDGE);
    assertThat(id.name()).isEqualTo("edge-1");
  }

  @Test
  void toString_parsedId_roundTrips() {
    String text = "spiffe://mesh.local/eu-west-2/gateway/gw0";

    assertThat(SpiffeId.parse(text).toString()).isEqualTo(text);
    assertThat(SpiffeId.parse(text).toUri()).isEqualTo(URI.create(text));
    assertThat(SpiffeId.parse(text).trustDomainUri()).isEqualTo("spiffe://mesh.local");
  }

  @Test
  void parse_otherScheme_saysWhatIsExpected() {
    assertThatThrownBy(() -> SpiffeId.parse("https://mesh.local/us-east/edge/edge-1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a SPIFFE ID")
        .hasMessageContaining("spiffe://<trust-domain>/<region>/<role>/<name>");
  }

  @Test
  void parse_missingSegment_saysWhatIsExpected() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://mesh.local/us-east/edge"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("<region>/<role>/<name>");
  }

  @Test
  void parse_extraSegment_isRejected() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://mesh.local/us-east/edge/edge-1/x"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void parse_unknownRole_listsValidRoles() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://mesh.local/us-east/worker/w1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("worker")
        .hasMessageContaining("edge, core, control, gateway, operator");
  }

  @Test
  void parse_upperCaseRole_isRejected() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://mesh.local/us-east/EDGE/edge-1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("role 'EDGE'");
  }

  @Test
  void parse_badRegion_namesTheRegion() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://mesh.local/us_east/edge/edge-1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("region 'us_east' is invalid");
  }

  @Test
  void parse_emptyName_namesTheName() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://mesh.local/us-east/edge/"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("name '' is invalid");
  }

  @Test
  void parse_upperCaseTrustDomain_namesTheTrustDomain() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://Mesh.Local/us-east/edge/edge-1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("trust domain 'Mesh.Local' is invalid");
  }

  @Test
  void parse_query_isRejected() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://mesh.local/us-east/edge/edge-1?x=1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no query or fragment");
  }

  @Test
  void parse_portInTrustDomain_isRejected() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://mesh.local:443/us-east/edge/edge-1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("trust domain 'mesh.local:443'");
  }

  @Test
  void constructor_labelLongerThan63_isRejected() {
    String tooLong = "a".repeat(64);

    assertThatThrownBy(() -> new SpiffeId("mesh.local", "us-east", Role.CORE, tooLong))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("name '" + tooLong + "' is invalid");
  }

  @Test
  void constructor_labelStartingWithHyphen_isRejected() {
    assertThatThrownBy(() -> new SpiffeId("mesh.local", "-east", Role.CORE, "c1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("region '-east'");
  }

  @Test
  void fromCertificate_leaf_readsItsUriSan(@TempDir Path dir) {
    TestPki pki = TestPki.create(dir);

    SpiffeId id = SpiffeId.fromCertificate(pki.leaf(Role.CORE, "core-0").certificate());

    assertThat(id).isEqualTo(pki.idOf(Role.CORE, "core-0"));
  }

  @Test
  void fromCertificate_caCertificate_isNotAMeshIdentity() {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(1), Clock.systemUTC());

    assertThatThrownBy(() -> SpiffeId.fromCertificate(ca.certificate()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("spiffe://mesh.local");
  }

  @Test
  void roleParse_anyCase_returnsRole() {
    assertThat(Role.parse("Gateway")).isEqualTo(Role.GATEWAY);
    assertThat(Role.parse(" operator ")).isEqualTo(Role.OPERATOR);
    assertThat(Role.CONTROL.pathName()).isEqualTo("control");
  }

  @Test
  void roleParse_unknown_listsValidRoles() {
    assertThatThrownBy(() -> Role.parse("admin"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("unknown role 'admin': expected one of edge, core, control, gateway, operator");
  }
}
