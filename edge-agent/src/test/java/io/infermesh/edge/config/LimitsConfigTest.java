package io.infermesh.edge.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LimitsConfigTest {
  private static final Path BASE = Path.of("/etc/infermesh");

  @Test
  void parse_noLimitsSection_givesTheDocumentedDefaults() {
    Limits limits = EdgeConfigLoader.parse("", BASE).limits();

    assertThat(limits).isEqualTo(Limits.DEFAULT);
    assertThat(limits.maxMessages()).isEqualTo(2048);
    assertThat(limits.maxInputBytes()).isEqualTo(1 << 20);
    assertThat(limits.headerTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(limits.idleTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(limits.maxConnections()).isEqualTo(1024);
  }

  @Test
  void parse_everyLimitsKey_readsTypedValues() {
    Limits limits = EdgeConfigLoader.parse("""
        limits: {max_messages: 64, max_input_bytes: 256KiB, header_timeout: 5s, idle_timeout: 1m, max_connections: 50}
        """, BASE).limits();

    assertThat(limits).isEqualTo(Limits.builder().maxMessages(64).maxInputBytes(256 * 1024).headerTimeout(Duration.ofSeconds(5))
        .idleTimeout(Duration.ofMinutes(1)).maxConnections(50).build());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "limits: {max_messages: 0}|limits.max_messages",
      "limits: {max_input_bytes: 10}|limits.max_input_bytes",
      "limits: {header_timeout: 0s}|limits.header_timeout",
      "limits: {idle_timeout: -1s}|limits.idle_timeout",
      "limits: {max_connections: 0}|limits.max_connections",
      "limits: {max_mesages: 3}|limits.max_mesages"})
  void parse_badLimit_namesTheKey(String yaml, String key) {
    assertThatThrownBy(() -> EdgeConfigLoader.parse(yaml, BASE))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(key);
  }
}
