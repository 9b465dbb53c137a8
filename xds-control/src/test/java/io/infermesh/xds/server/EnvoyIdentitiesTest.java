package io.infermesh.xds.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.MutableClock;
import io.infermesh.xds.snapshot.SecretMaterial;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class EnvoyIdentitiesTest {

  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(30), clock);

  @Test
  void renewIfDue_firstCall_issuesOnePerRegionPlusFallback() {
    EnvoyIdentities ids = new EnvoyIdentities(ca, List.of("eu-west", "us-east"), Duration.ofHours(24), clock);
    assertThat(ids.current()).isEqualTo(SecretMaterial.none());
    assertThat(ids.renewIfDue()).isTrue();
    assertThat(ids.current().identitiesByRegion()).containsOnlyKeys("eu-west", "us-east", "");
    assertThat(ids.current().trustBundlePem()).startsWith("-----BEGIN CERTIFICATE-----");
    assertThat(ids.current().identity("ap-south")).isEqualTo(ids.current().identity(""));
  }

  @Test
  void renewIfDue_beforeTwoThirdsOfLifetime_keepsThem_afterwards_rotates() {
    EnvoyIdentities ids = new EnvoyIdentities(ca, List.of("eu-west"), Duration.ofHours(24), clock);
    ids.renewIfDue();
    SecretMaterial first = ids.current();
    clock.advance(Duration.ofHours(15));
    assertThat(ids.renewIfDue()).isFalse();
    assertThat(ids.current()).isSameAs(first);
    clock.advance(Duration.ofHours(1));
    assertThat(ids.renewIfDue()).isTrue();
    assertThat(ids.current().identity("eu-west").orElseThrow().certificateChainPem())
        .isNotEqualTo(first.identity("eu-west").orElseThrow().certificateChainPem());
  }

  @Test
  void secretMaterial_toString_neverPrintsKeys() {
    EnvoyIdentities ids = new EnvoyIdentities(ca, List.of("eu-west"), Duration.ofHours(24), clock);
    ids.renewIfDue();
    assertThat(ids.current().toString()).doesNotContain("PRIVATE KEY");
    assertThat(ids.current().identity("eu-west").orElseThrow().toString()).doesNotContain("PRIVATE KEY");
  }
}
