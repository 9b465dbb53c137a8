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

    assertThat(limits).isEqualTo(new Limits(2048, 1 << 20, Duration.ofSeconds(30), Duration.ofSeconds(30), 1024));
  }

  @Test
  void parse_everyLimitsKey_readsTypedValues() {
    Limits limits = EdgeConfigLoader.parse("""
        limits: {max_messages: 64, max_input_bytes: 256KiB, header_timeout: 5s, idle_timeout: 1m, max_connections: 50}
        """, BASE).limits();

    assertThat(limits).isEqualTo(new Limits(64, 256 * 1024, Duration.ofSeconds(5), Duration.ofMinutes(1), 50));
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
