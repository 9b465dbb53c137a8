package io.infermesh.edge.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code escalation.tls.renew}: every key, both forms of {@code before}, and errors naming the key. */
class RenewalConfigTest {
  private static final Path BASE = Path.of("/etc/infermesh");

  @Test
  void parse_renewWithFraction_readsEveryKey() {
    Renewal r = EdgeConfigLoader.parse("""
        escalation:
          tls:
            dir: pki
            name: edge-7
            renew: {signer: 'signer.mesh.local:18443', before: 0.25, timeout: 3s, backoff: 200ms, max_backoff: 5s}
        """, BASE).escalation().renew().orElseThrow();

    assertThat(r.signer()).isEqualTo("signer.mesh.local:18443");
    assertThat(r.before()).isEqualTo(new Renewal.Before.Fraction(0.25));
    assertThat(r.timeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(r.backoff()).isEqualTo(Duration.ofMillis(200));
    assertThat(r.maxBackoff()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void parse_renewWithMarginAndDefaults_readsMargin() {
    Renewal r = EdgeConfigLoader.parse("escalation: {tls: {renew: {signer: 'a:1', before: 10m}}}", BASE)
        .escalation().renew().orElseThrow();

    assertThat(r.before()).isEqualTo(new Renewal.Before.Margin(Duration.ofMinutes(10)));
    assertThat(r.timeout()).isEqualTo(Renewal.DEFAULT_TIMEOUT);
    assertThat(r.backoff()).isEqualTo(Renewal.DEFAULT_BACKOFF);
    assertThat(EdgeConfigLoader.parse("escalation: {tls: {renew: {signer: 'a:1'}}}", BASE).escalation().renew()
        .orElseThrow().before()).isEqualTo(Renewal.DEFAULT_BEFORE);
    assertThat(EdgeConfigLoader.parse("escalation: {tls: {name: e}}", BASE).escalation().renew()).isEmpty();
  }

  @Test
  void parse_badRenewValues_nameTheKey() {
    assertThatThrownBy(() -> EdgeConfigLoader.parse("escalation: {tls: {renew: {before: 0.3}}}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("escalation.tls.renew.signer");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("escalation: {tls: {renew: {signer: 'a:1', before: 1.5}}}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("escalation.tls.renew.before")
        .hasMessageContaining("(0, 1)");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("escalation: {tls: {renew: {signer: 'a:1', before: soon}}}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("escalation.tls.renew.before");
    assertThatThrownBy(() -> EdgeConfigLoader.parse(
        "escalation: {tls: {renew: {signer: 'a:1', backoff: 10s, max_backoff: 1s}}}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("escalation.tls.renew.max_backoff");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("escalation: {tls: {renew: {signer: 'a:1', every: 1h}}}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("escalation.tls.renew.every");
  }
}
