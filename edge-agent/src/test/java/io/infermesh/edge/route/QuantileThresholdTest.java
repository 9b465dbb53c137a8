package io.infermesh.edge.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

class QuantileThresholdTest {
  @Test
  void escalate_uniformScores_escalatesAboutTheTargetRate() {
    QuantileThreshold t = QuantileThreshold.of(0.2, 1000, 100, 0.5);
    Random random = new Random(42);
    for (int i = 0; i < 2000; i++) {
      t.escalate(random.nextDouble());
    }
    int escalated = 0;
    for (int i = 0; i < 10_000; i++) {
      if (t.escalate(random.nextDouble())) {
        escalated++;
      }
    }
    assertThat(escalated / 10_000.0).isBetween(0.17, 0.23);
    assertThat(t.value()).isBetween(0.75, 0.85);
  }

  @Test
  void escalate_beforeMinSamples_usesTheInitialThreshold() {
    QuantileThreshold t = QuantileThreshold.of(0.5, 100, 50, 0.9);
    for (int i = 0; i < 49; i++) {
      assertThat(t.escalate(0.1)).isFalse();
    }
    assertThat(t.value()).isEqualTo(0.9);
  }

  @Test
  void escalate_trafficShiftsHarder_thresholdFollows() {
    QuantileThreshold t = QuantileThreshold.of(0.1, 200, 50, 0.5);
    Random random = new Random(1);
    for (int i = 0; i < 400; i++) {
      t.escalate(random.nextDouble() * 0.5);
    }
    double before = t.value();
    for (int i = 0; i < 400; i++) {
      t.escalate(0.5 + random.nextDouble() * 0.5);
    }
    assertThat(before).isBetween(0.4, 0.5);
    assertThat(t.value()).isBetween(0.9, 1.0);
  }

  @Test
  void of_badTargetRate_namesIt() {
    assertThatThrownBy(() -> QuantileThreshold.of(1.5, 10, 1, 0.5)).hasMessageContaining("target rate");
    assertThatThrownBy(() -> Threshold.fixed(-0.1)).hasMessageContaining("threshold");
  }
}
