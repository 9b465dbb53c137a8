package io.infermesh.edge.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code leases:} in edge.yaml. */
class EdgeConfigLeasesTest {
  private static final Path BASE = Path.of("/etc/infermesh");

  @Test
  void parse_noSection_isOff() {
    assertThat(EdgeConfigLoader.parse("", BASE).leases()).isEqualTo(Leases.NONE);
  }

  @Test
  void parse_fullSection_isRead() {
    Leases leases = EdgeConfigLoader.parse("""
        escalation: {target: "core:9443"}
        leases:
          enabled: true
          file: data/leases.json
          tenants: [acme, globex]
          tokens_per_grant: 5000
          renew_below: 500
          renew_before: 5m
          sync_interval: 3s
        """, BASE).leases();

    assertThat(leases.enabled()).isTrue();
    assertThat(leases.file()).contains(Path.of("/etc/infermesh/data/leases.json"));
    assertThat(leases.tenants()).isEqualTo(List.of("acme", "globex"));
    assertThat(leases.tokensPerGrant()).isEqualTo(5000);
    assertThat(leases.renewBelow()).isEqualTo(500);
    assertThat(leases.renewBefore()).isEqualTo(Duration.ofMinutes(5));
    assertThat(leases.syncInterval()).isEqualTo(Duration.ofSeconds(3));
  }

  @Test
  void parse_enabledWithoutFile_namesLeasesFile() {
    assertThatThrownBy(() -> EdgeConfigLoader.parse("""
        escalation: {target: "core:9443"}
        leases: {enabled: true}
        """, BASE)).isInstanceOfSatisfying(ConfigException.class,
            e -> assertThat(e.getMessage()).contains("leases.file"));
  }

  @Test
  void parse_enabledWithoutEscalation_namesLeasesEnabled() {
    assertThatThrownBy(() -> EdgeConfigLoader.parse("leases: {enabled: true, file: w.json}", BASE))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.getMessage()).contains("leases.enabled"));
  }

  @Test
  void parse_unknownKey_isRefused() {
    assertThatThrownBy(() -> EdgeConfigLoader.parse("leases: {budget: 5}", BASE)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("leases.budget");
  }
}
