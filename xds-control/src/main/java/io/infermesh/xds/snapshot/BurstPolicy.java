package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * When and how much traffic leaves private capacity for public-cloud endpoints.
 *
 * <p>Watching a region's private utilization {@code u} (mean over its healthy private endpoints),
 * a burst starts when {@code u > high_watermark}. While bursting, the control plane estimates the
 * demand the private tier would see without burst, {@code d = u / (1 - share)}, and sends
 * {@code share = 1 - high_watermark / d} (capped at {@code max_share}) to public endpoints: the share
 * proportional to the overflow that brings the private tier back to the high watermark. Traffic
 * returns (share 0) only when {@code d < low_watermark}; between the watermarks the share holds
 * (hysteresis). Shares move in whole percent, only when the need moved by at least
 * {@link BurstState#ADJUST_DEADBAND}, and at least {@code min_hold} apart: utilization reports lag
 * the traffic shift, and a controller that re-read them too soon would keep adding share for load
 * that has already moved.
 *
 * @param enabled false = never burst
 * @param highWatermark utilization that starts a burst, 0 &lt; high &lt;= 1.5
 * @param lowWatermark demand under which the burst ends, 0 &lt;= low &lt; high
 * @param maxShare the largest share ever sent to public endpoints, 0 &lt; max &lt; 1
 * @param minHold least time between two changes of a region's share
 */
public record BurstPolicy(
    boolean enabled, double highWatermark, double lowWatermark, double maxShare, Duration minHold) {

  public BurstPolicy {
    requireNonNull(minHold, "minHold");
    if (!(highWatermark > 0 && highWatermark <= 1.5)) {
      throw new IllegalArgumentException("burst.high_watermark must be in (0, 1.5], was " + highWatermark);
    }
    if (!(lowWatermark >= 0 && lowWatermark < highWatermark)) {
      throw new IllegalArgumentException("burst.low_watermark must be in [0, high_watermark), was "
          + lowWatermark + " with high_watermark " + highWatermark);
    }
    if (!(maxShare > 0 && maxShare < 1)) {
      throw new IllegalArgumentException("burst.max_share must be in (0, 1), was " + maxShare);
    }
    if (minHold.isNegative()) {
      throw new IllegalArgumentException("burst.min_hold must not be negative, was " + minHold);
    }
  }

  /** Bursting on at 80 %, back under 60 %, at most half the traffic, 30 s between changes. */
  public static BurstPolicy defaults() {
    return new BurstPolicy(true, 0.80, 0.60, 0.5, Duration.ofSeconds(30));
  }

  /** Never burst. */
  public static BurstPolicy disabled() {
    return new BurstPolicy(false, 0.80, 0.60, 0.5, Duration.ofSeconds(30));
  }

  public BurstPolicy withMinHold(Duration newMinHold) {
    return new BurstPolicy(enabled, highWatermark, lowWatermark, maxShare, newMinHold);
  }
}
