package io.infermesh.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code leases:} in core.yaml. */
class CoreConfigLeasesTest {

  @Test
  void parse_noSection_isOff() throws Exception {
    assertThat(CoreYaml.parse("").leases()).isEqualTo(Leases.off());
  }

  @Test
  void parse_fullSection_isRead() throws Exception {
    Leases leases = CoreYaml.parse("""
        leases:
          enabled: true
          signing: {dir: lease-signer, name: core-signer}
          max_tokens_per_grant: 5000
          validity: 2h
          clock_skew: 30s
          max_open_per_device: 2
        """).leases();

    assertThat(leases.enabled()).isTrue();
    assertThat(leases.signing()).contains(new CoreConfig.Tls(Path.of("/etc/infermesh/lease-signer"), "core-signer"));
    assertThat(leases.maxTokensPerGrant()).isEqualTo(5000);
    assertThat(leases.validity()).isEqualTo(Duration.ofHours(2));
    assertThat(leases.clockSkew()).isEqualTo(Duration.ofSeconds(30));
    assertThat(leases.maxOpenPerDevice()).isEqualTo(2);
  }

  @Test
  void parse_signingDirWithoutName_namesTheKey() {
    assertThatThrownBy(() -> CoreYaml.parse("leases: {signing: {dir: x}}"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.getMessage()).contains("leases.signing.name"));
  }

  @Test
  void parse_zeroTokensPerGrant_namesTheKey() {
    assertThatThrownBy(() -> CoreYaml.parse("leases: {max_tokens_per_grant: 0}"))
        .isInstanceOfSatisfying(ConfigException.class,
            e -> assertThat(e.getMessage()).contains("leases.max_tokens_per_grant"));
  }

  @Test
  void parse_unknownKey_isRefused() {
    assertThatThrownBy(() -> CoreYaml.parse("leases: {tokens: 5}")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("leases.tokens");
  }
}
