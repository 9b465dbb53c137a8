package io.infermesh.edge.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.edge.calibrate.CalibrationTarget;
import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code routing.calibration} in edge.yaml: every key read, every rule naming its key. */
class CalibrationConfigTest {
  private static final Path BASE = Path.of("/etc/infermesh");

  @Test
  void parse_calibration_readsEveryKey() {
    EdgeConfig config = EdgeConfigLoader.parse("""
        routing:
          calibration:
            enabled: true
            target: agreement=0.85
            shadow_fraction: 0.25
            agreement_threshold: 0.7
            learning_rate: 0.1
            l2: 0.001
            step: 0.2
            initial_threshold: 0.6
            state_file: state/calibration.bin
            concurrency: 2
            queue: 8
            timeout: 5s
        """, BASE);
    assertThat(config.routing().calibration()).isEqualTo(Calibration.builder().enabled(true)
        .target(new CalibrationTarget.Agreement(0.85)).shadowFraction(0.25).agreementThreshold(0.7).learningRate(0.1)
        .l2(0.001).step(0.2).initialThreshold(0.6).stateFile(Optional.of(BASE.resolve("state/calibration.bin")))
        .concurrency(2).queue(8).timeout(Duration.ofSeconds(5)).build());
    assertThat(EdgeConfig.defaults().routing().calibration().enabled()).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      routing: {calibration: {target: escalation_rate=1.2}}  | routing.calibration.target: escalation_rate must be in (0, 1)
      routing: {calibration: {target: accuracy=0.5}}         | routing.calibration.target: unknown target 'accuracy'
      routing: {calibration: {shadow_fraction: 2}}           | routing.calibration.shadow_fraction: must be in [0.0, 1.0]
      routing: {calibration: {queue: 0}}                     | routing.calibration.queue: must be at least 1
      routing: {calibration: {timeout: 0s}}                  | routing.calibration.timeout: must be positive
      routing: {calibration: {shadow: 0.1}}                  | routing.calibration.shadow: unknown key
      routing: {target_rate: 0.2, calibration: {enabled: true}} | routing.calibration.enabled: the calibration learns
      """)
  void parse_badCalibration_namesTheKey(String yaml, String message) {
    assertThatThrownBy(() -> EdgeConfigLoader.parse(yaml, BASE)).isInstanceOf(ConfigException.class)
        .hasMessageContaining(message);
  }
}
