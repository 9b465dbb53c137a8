package io.infermesh.node.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The duration and size grammar every config file and flag shares. */
class GrammarTest {
  @Test
  void durations_everyForm_parses() {
    assertThat(Durations.parse("0")).isZero();
    assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Durations.parse("1.5s")).isEqualTo(Duration.ofMillis(1_500));
    assertThat(Durations.parse("10S")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse(" 5m ")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("2h")).isEqualTo(Duration.ofHours(2));
    assertThat(Durations.parse("1d")).isEqualTo(Duration.ofDays(1));
    assertThat(Durations.parse("PT10S")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse("pt0.5s")).isEqualTo(Duration.ofMillis(500));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-1s", "PT-1S", "10", "1.5", "s", "10 seconds", "1w", "99999999999999d", "1.0000000001s"})
  void durations_notInTheGrammar_areRefusedSayingWhatIs(String text) {
    assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must");
  }

  @Test
  void sizes_everyForm_parses() {
    assertThat(ByteSizes.parse("1048576")).isEqualTo(1 << 20);
    assertThat(ByteSizes.parse("512KiB")).isEqualTo(512L << 10);
    assertThat(ByteSizes.parse("512k")).isEqualTo(512L << 10);
    assertThat(ByteSizes.parse("64 MiB")).isEqualTo(64L << 20);
    assertThat(ByteSizes.parse("1GB")).isEqualTo(1L << 30);
    assertThat(ByteSizes.parse("7b")).isEqualTo(7);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-1", "1.5MiB", "1TiB", "lots", "9223372036854775807GiB"})
  void sizes_notInTheGrammar_areRefused(String text) {
    assertThatThrownBy(() -> ByteSizes.parse(text)).isInstanceOf(IllegalArgumentException.class);
  }
}
