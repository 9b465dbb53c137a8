package io.infermesh.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.node.audit.AuditFsync;
import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code tenants:} and {@code audit:} in core.yaml. */
class CoreConfigGovernanceTest {

  @Test
  void parse_noSections_notEnforcedEdgeAndGatewayVouchAuditOff() throws Exception {
    CoreConfig config = CoreYaml.parse("");

    assertThat(config.tenants()).isEqualTo(Tenants.off());
    assertThat(config.tenants().enforce()).isFalse();
    assertThat(config.tenants().vouchRoles()).containsExactlyInAnyOrder(Role.EDGE, Role.GATEWAY);
    assertThat(config.tenants().limits("anyone")).isEqualTo(Tenants.Limits.NONE);
    assertThat(config.audit().enabled()).isFalse();
    assertThat(config.audit().dir()).isEqualTo(Path.of("/etc/infermesh/audit"));
    assertThat(config.audit().fsync()).isEqualTo(AuditFsync.INTERVAL);
  }

  @Test
  void parse_fullSections_areRead() throws Exception {
    CoreConfig config = CoreYaml.parse("""
        tenants:
          enforce: true
          vouch: {roles: [edge], ids: ["spiffe://mesh.local/eu/operator/billing"]}
          default: {requests_per_minute: 60, tokens_per_day: 100000}
          list:
            - {name: acme, requests_per_minute: 600, tokens_per_minute: 50000, tokens_per_day: 1000000,
               tokens_per_month: 20000000}
        audit:
          enabled: true
          dir: /var/lib/infermesh/audit
          max_file_size: 16MiB
          max_file_age: 6h
          fsync: every_record
        """);

    Tenants t = config.tenants();
    assertThat(t.enforce()).isTrue();
    assertThat(t.vouchRoles()).isEqualTo(Set.of(Role.EDGE));
    assertThat(t.vouchIds()).containsExactly(SpiffeId.parse("spiffe://mesh.local/eu/operator/billing"));
    assertThat(t.limits("other")).isEqualTo(new Tenants.Limits(60, 0, 100_000, 0));
    assertThat(t.limits("acme")).isEqualTo(new Tenants.Limits(600, 50_000, 1_000_000, 20_000_000));
    Audit a = config.audit();
    assertThat(a.enabled()).isTrue();
    assertThat(a.dir()).isEqualTo(Path.of("/var/lib/infermesh/audit"));
    assertThat(a.maxFileBytes()).isEqualTo(16L * 1024 * 1024);
    assertThat(a.maxFileAge()).isEqualTo(Duration.ofHours(6));
    assertThat(a.fsync()).isEqualTo(AuditFsync.EVERY_RECORD);
  }

  @Test
  void parse_badValues_failNamingTheKey() {
    assertThatThrownBy(() -> CoreYaml.parse("tenants: {vouch: {roles: [edge, boss]}}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("tenants.vouch.roles[1]");
    assertThatThrownBy(() -> CoreYaml.parse("tenants: {vouch: {ids: [edge]}}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("tenants.vouch.ids[0]");
    assertThatThrownBy(() -> CoreYaml.parse("tenants: {default: {tokens_per_day: -1}}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("tenants.default.tokens_per_day");
    assertThatThrownBy(() -> CoreYaml.parse("tenants: {list: [{name: a}, {name: a}]}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("tenants.list[1].name")
        .hasMessageContaining("twice");
    assertThatThrownBy(() -> CoreYaml.parse("tenants: {list: [{tokens_per_day: 5}]}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("tenants.list[0].name");
    assertThatThrownBy(() -> CoreYaml.parse("tenants: {default: {tokens_per_week: 5}}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("tenants.default.tokens_per_week")
        .hasMessageContaining("unknown key");
    assertThatThrownBy(() -> CoreYaml.parse("audit: {fsync: sometimes}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("audit.fsync");
    assertThatThrownBy(() -> CoreYaml.parse("audit: {max_file_size: 0}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("audit.max_file_size");
  }
}
