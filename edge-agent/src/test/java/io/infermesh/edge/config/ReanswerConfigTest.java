package io.infermesh.edge.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReanswerConfigTest {
  private static final Path BASE = Path.of("/etc/infermesh");
  private static final String CORE = "escalation: {target: core-0:9443}\n";

  @Test
  void parse_everyKey_isRead() {
    Reanswer r = EdgeConfigLoader.parse(CORE + """
        reanswer:
          enabled: true
          data_dir: reanswers
          max_entries: 500
          max_bytes: 8MiB
          ttl: 2h
          replay_timeout: 30s
          tenants: [field-devices]
          webhook: {url: "https://hooks.example/infermesh", secret: "0123456789abcdef", max_attempts: 3, backoff: 2s}
        """, BASE).reanswer();

    assertThat(r.enabled()).isTrue();
    assertThat(r.dataDir()).contains(Path.of("/etc/infermesh/reanswers"));
    assertThat(r.maxEntries()).isEqualTo(500);
    assertThat(r.maxBytes()).isEqualTo(8L << 20);
    assertThat(r.ttl()).isEqualTo(Duration.ofHours(2));
    assertThat(r.replayTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(r.tenants()).isEqualTo(List.of("field-devices"));
    assertThat(r.webhook()).hasValue(new Reanswer.Webhook(URI.create("https://hooks.example/infermesh"),
        "0123456789abcdef", 3, Duration.ofSeconds(2)));
    assertThat(r.webhook().get().toString()).doesNotContain("0123456789abcdef");
  }

  @Test
  void parse_absent_isOff() {
    assertThat(EdgeConfigLoader.parse("", BASE).reanswer()).isEqualTo(Reanswer.NONE);
  }

  @Test
  void parse_badValues_nameTheKey() {
    assertThatThrownBy(() -> EdgeConfigLoader.parse(CORE + "reanswer: {enabled: true}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("reanswer.data_dir");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("reanswer: {enabled: true, data_dir: q}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("reanswer.enabled")
        .hasMessageContaining("escalation.target");
    assertThatThrownBy(() -> EdgeConfigLoader.parse(CORE + "reanswer: {enabled: true, data_dir: q, max_entries: 0}",
        BASE)).isInstanceOf(ConfigException.class).hasMessageContaining("reanswer.max_entries");
    assertThatThrownBy(() -> EdgeConfigLoader.parse(CORE + "reanswer: {enabled: true, data_dir: q, queue: 3}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("reanswer.queue").hasMessageContaining("unknown key");
    assertThatThrownBy(() -> EdgeConfigLoader.parse(CORE
        + "reanswer: {enabled: true, data_dir: q, webhook: {url: 'ftp://x/y', secret: '0123456789abcdef'}}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("reanswer.webhook.url");
    assertThatThrownBy(() -> EdgeConfigLoader.parse(CORE
        + "reanswer: {enabled: true, data_dir: q, webhook: {url: 'https://x/y', secret: short}}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("reanswer.webhook.secret");
    assertThatThrownBy(() -> EdgeConfigLoader.parse(CORE
        + "reanswer: {enabled: true, data_dir: q, webhook: {url: 'https://x/y', secret: '0123456789abcdef', x: 1}}",
        BASE)).isInstanceOf(ConfigException.class).hasMessageContaining("reanswer.webhook.x");
    assertThatThrownBy(() -> EdgeConfigLoader.parse(CORE + "reanswer: {tenants: [a]}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("reanswer.enabled");
  }
}
