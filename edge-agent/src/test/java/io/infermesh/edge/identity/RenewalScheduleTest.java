package io.infermesh.edge.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.config.Renewal;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RenewalScheduleTest {
  private static final Instant START = Instant.parse("2030-01-01T00:00:00Z");
  private static final Instant END = START.plus(Duration.ofHours(24));

  @Test
  void renewAt_fraction_leavesThatFractionOfTheLifetime() {
    assertThat(RenewalSchedule.renewAt(START, END, new Renewal.Before.Fraction(0.25)))
        .isEqualTo(START.plus(Duration.ofHours(18)));
  }

  @Test
  void renewAt_margin_isMarginBeforeExpiryButNeverBeforeHalfTheLifetime() {
    Renewal.Before tenMinutes = new Renewal.Before.Margin(Duration.ofMinutes(10));
    Renewal.Before twoDays = new Renewal.Before.Margin(Duration.ofDays(2));

    assertThat(RenewalSchedule.renewAt(START, END, tenMinutes)).isEqualTo(END.minus(Duration.ofMinutes(10)));
    assertThat(RenewalSchedule.renewAt(START, END, twoDays)).isEqualTo(START.plus(Duration.ofHours(12)));
    assertThat(RenewalSchedule.marginExceedsHalf(Duration.ofHours(24), twoDays)).isTrue();
    assertThat(RenewalSchedule.marginExceedsHalf(Duration.ofHours(24), tenMinutes)).isFalse();
  }

  @Test
  void backoff_doublesFromTheFirstFailureUpToTheMaximum() {
    Duration first = Duration.ofMillis(500);
    Duration max = Duration.ofSeconds(5);

    assertThat(RenewalSchedule.backoff(1, first, max)).isEqualTo(Duration.ofMillis(500));
    assertThat(RenewalSchedule.backoff(2, first, max)).isEqualTo(Duration.ofSeconds(1));
    assertThat(RenewalSchedule.backoff(4, first, max)).isEqualTo(Duration.ofSeconds(4));
    assertThat(RenewalSchedule.backoff(5, first, max)).isEqualTo(max);
    assertThat(RenewalSchedule.backoff(1_000, first, max)).isEqualTo(max);
  }
}
