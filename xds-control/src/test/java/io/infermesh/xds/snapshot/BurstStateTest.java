package io.infermesh.xds.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.OptionalDouble;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BurstStateTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final BurstPolicy POLICY = new BurstPolicy(true, 0.80, 0.60, 0.5, Duration.ZERO);

  private static OptionalDouble u(double value) {
    return OptionalDouble.of(value);
  }

  @Test
  void next_belowHighWatermark_staysIdle() {
    BurstState s = BurstState.idle().next(POLICY, T0, u(0.79));
    assertThat(s).isSameAs(BurstState.idle());
    assertThat(s.bursting()).isFalse();
  }

  @Test
  void next_aboveHighWatermark_sendsTheOverflowShare() {
    BurstState s = BurstState.idle().next(POLICY, T0, u(0.95));
    // 1 - 0.80 / 0.95 = 0.158 -> 16 % (whole percent, rounded up)
    assertThat(s.share()).isEqualTo(0.16);
    assertThat(s.changedAt()).isEqualTo(T0);
  }

  @Test
  void next_justAboveHighWatermark_sendsAtLeastOnePercent() {
    assertThat(BurstState.idle().next(POLICY, T0, u(0.801)).share()).isEqualTo(0.01);
  }

  @Test
  void next_hugeOverload_isCappedAtMaxShare() {
    assertThat(BurstState.idle().next(POLICY, T0, u(5.0)).share()).isEqualTo(0.5);
  }

  @Test
  void next_whileBurstingAtTheWatermark_holds() {
    BurstState bursting = BurstState.idle().next(POLICY, T0, u(0.95));
    // with 16 % gone to public, the private tier now measures 0.95 * 0.84 = 0.798: under high
    BurstState after = bursting.next(POLICY, T0.plusSeconds(1), u(0.798));
    assertThat(after).isSameAs(bursting);
  }

  @Test
  void next_whileBurstingBetweenWatermarks_holdsTheShare() {
    BurstState bursting = new BurstState(0.20, T0);
    // demand = 0.56 / 0.8 = 0.70: between 0.60 and 0.80
    assertThat(bursting.next(POLICY, T0.plusSeconds(5), u(0.56))).isSameAs(bursting);
  }

  @Test
  void next_demandUnderLowWatermark_returnsTraffic() {
    BurstState bursting = new BurstState(0.20, T0);
    // demand = 0.40 / 0.8 = 0.50 < 0.60
    BurstState after = bursting.next(POLICY, T0.plusSeconds(5), u(0.40));
    assertThat(after.share()).isZero();
    assertThat(after.changedAt()).isEqualTo(T0.plusSeconds(5));
  }

  @Test
  void next_demandGrowsWhileBursting_growsTheShare() {
    BurstState bursting = new BurstState(0.10, T0);
    // demand = 0.90 / 0.9 = 1.0 -> need 1 - 0.8 = 20 %
    assertThat(bursting.next(POLICY, T0.plusSeconds(1), u(0.90)).share()).isEqualTo(0.20);
  }

  @Test
  void next_demandShrinksButStaysAboveHigh_shrinksTheShare() {
    BurstState bursting = new BurstState(0.30, T0);
    // demand = 0.63 / 0.7 = 0.9 -> need 1 - 0.8 / 0.9 = 11.1 % -> 12 %
    assertThat(bursting.next(POLICY, T0.plusSeconds(1), u(0.63)).share()).isEqualTo(0.12);
  }

  @Test
  void next_withinMinHold_doesNotChange() {
    BurstPolicy held = POLICY.withMinHold(Duration.ofSeconds(30));
    BurstState bursting = BurstState.idle().next(held, T0, u(0.95));
    assertThat(bursting.share()).isEqualTo(0.16);
    assertThat(bursting.next(held, T0.plusSeconds(29), u(0.30))).isSameAs(bursting);
    assertThat(bursting.next(held, T0.plusSeconds(30), u(0.30)).share()).isZero();
  }

  @Test
  void next_reenteringSoonAfterReturn_waitsForMinHold() {
    BurstPolicy held = POLICY.withMinHold(Duration.ofSeconds(30));
    BurstState returned = new BurstState(0, T0);
    assertThat(returned.next(held, T0.plusSeconds(10), u(0.99))).isSameAs(returned);
    assertThat(returned.next(held, T0.plusSeconds(30), u(0.99)).bursting()).isTrue();
  }

  @Test
  void next_disabledPolicy_returnsAtOnceEvenWithinMinHold() {
    BurstPolicy off = BurstPolicy.disabled().withMinHold(Duration.ofHours(1));
    BurstState bursting = new BurstState(0.2, T0);
    assertThat(bursting.next(off, T0.plusSeconds(1), u(0.99)).share()).isZero();
    assertThat(BurstState.idle().next(off, T0, u(0.99))).isSameAs(BurstState.idle());
  }

  @Test
  void next_noHealthyPrivateEndpoints_endsTheBurst() {
    BurstState bursting = new BurstState(0.2, T0);
    assertThat(bursting.next(POLICY.withMinHold(Duration.ofHours(1)), T0.plusSeconds(1), OptionalDouble.empty())
        .share()).isZero();
  }

  @Test
  void next_closedLoopWithNoisyReports_settlesWithoutFlapping() {
    // Plant: the private tier measures demand * (1 - share), plus +-2 % noise. Demand steps
    // 0.5 -> 1.0 -> 0.7 -> 0.5. The share must settle, hold in the band, and return once.
    BurstPolicy policy = POLICY.withMinHold(Duration.ofSeconds(10));
    Random noise = new Random(42);
    BurstState s = BurstState.idle();
    int changes = 0;
    double[] demands = {0.5, 1.0, 0.7, 0.5};
    Instant t = T0;
    double shareAtEndOfHighPhase = -1;
    for (double demand : demands) {
      for (int second = 0; second < 300; second++) {
        t = t.plusSeconds(1);
        double measured = demand * (1 - s.share()) * (1 + (noise.nextDouble() - 0.5) * 0.04);
        BurstState next = s.next(policy, t, u(measured));
        if (next != s) {
          changes++;
        }
        s = next;
      }
      if (demand == 1.0) {
        shareAtEndOfHighPhase = s.share();
      }
    }
    assertThat(shareAtEndOfHighPhase).isBetween(0.18, 0.23); // 1 - 0.8 / 1.0 = 20 %, +- noise
    assertThat(s.bursting()).isFalse();
    assertThat(changes).isLessThanOrEqualTo(8);
  }

  @Test
  void constructor_shareOutOfRange_isRejected() {
    assertThatThrownBy(() -> new BurstState(1.0, T0)).hasMessageContaining("share");
    assertThatThrownBy(() -> new BurstState(-0.1, T0)).hasMessageContaining("share");
  }

  @Test
  void burstPolicy_invalidWatermarks_areRejectedNamingTheKey() {
    assertThatThrownBy(() -> new BurstPolicy(true, 0.5, 0.6, 0.5, Duration.ZERO))
        .hasMessageContaining("burst.low_watermark");
    assertThatThrownBy(() -> new BurstPolicy(true, 0, 0, 0.5, Duration.ZERO))
        .hasMessageContaining("burst.high_watermark");
    assertThatThrownBy(() -> new BurstPolicy(true, 0.8, 0.6, 1.0, Duration.ZERO))
        .hasMessageContaining("burst.max_share");
    assertThatThrownBy(() -> new BurstPolicy(true, 0.8, 0.6, 0.5, Duration.ofSeconds(-1)))
        .hasMessageContaining("burst.min_hold");
  }
}
