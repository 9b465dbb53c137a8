package io.infermesh.edge.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class EscalationConfigTest {
  private static final Path BASE = Path.of("/etc/infermesh");

  @Test
  void parse_escalationAndRouting_readsEveryKey() {
    EdgeConfig c = EdgeConfigLoader.parse("""
        escalation:
          target: core-0:9443
          tls: {dir: pki, name: edge-7}
          timeout: 20s
          max_attempts: 4
          circuit: {failure_rate: 30, window: 5, open_for: 3s}
          fallback: false
        routing:
          core_models: [big-model]
          local_only_tenants: [clinic]
          threshold: 0.7
          target_rate: 0.25
          window: 200
          default_budget: 2s
        """, BASE);
    Escalation e = c.escalation();
    assertThat(e.target()).contains("core-0:9443");
    assertThat(e.tlsDir()).isEqualTo(Path.of("/etc/infermesh/pki"));
    assertThat(e.tlsName()).isEqualTo("edge-7");
    assertThat(e.timeout()).isEqualTo(Duration.ofSeconds(20));
    assertThat(e.maxAttempts()).isEqualTo(4);
    assertThat(e.failureRate()).isEqualTo(30);
    assertThat(e.window()).isEqualTo(5);
    assertThat(e.openFor()).isEqualTo(Duration.ofSeconds(3));
    assertThat(e.fallback()).isFalse();
    Routing r = c.routing();
    assertThat(r.coreModels()).isEqualTo(List.of("big-model"));
    assertThat(r.localOnlyTenants()).isEqualTo(List.of("clinic"));
    assertThat(r.threshold()).isEqualTo(0.7);
    assertThat(r.targetRate()).hasValue(0.25);
    assertThat(r.window()).isEqualTo(200);
    assertThat(r.defaultBudget()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void parse_badValues_nameTheKey() {
    assertThatThrownBy(() -> EdgeConfigLoader.parse("escalation: {max_attempts: 9}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("escalation.max_attempts");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("routing: {threshold: 1.5}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("routing.threshold");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("routing: {threshold: high}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("routing.threshold");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("routing: {scorer: learned}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("routing.training_file");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("escalation: {circuit: {window: 0}}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("escalation.circuit.window");
  }
}
