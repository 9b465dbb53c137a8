package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.time.Instant;
import java.util.OptionalDouble;

/**
 * The burst share of one service in one region and when it last changed. Immutable; {@link #next}
 * is a pure function of the policy, the time and the measured utilization, so hysteresis is tested
 * by feeding it numbers. See {@link BurstPolicy} for the rule.
 *
 * @param share fraction of the region's traffic sent to public endpoints, in whole percent
 * @param changedAt when the share last changed ({@link Instant#EPOCH} if never)
 */
public record BurstState(double share, Instant changedAt) {

  private static final BurstState IDLE = new BurstState(0, Instant.EPOCH);

  /**
   * While bursting above the high watermark, the share is only re-targeted when the need moved by
   * at least this much, so report noise does not nudge the split every {@code min_hold}.
   */
  public static final double ADJUST_DEADBAND = 0.05;

  public BurstState {
    requireNonNull(changedAt, "changedAt");
    if (!(share >= 0 && share < 1)) {
      throw new IllegalArgumentException("share must be in [0, 1), was " + share);
    }
  }

  /** No burst, never changed. */
  public static BurstState idle() {
    return IDLE;
  }

  /** Whether traffic is being sent to public endpoints. */
  public boolean bursting() {
    return share > 0;
  }

  /**
   * The state after observing {@code utilization} (mean over the region's healthy private
   * endpoints, measured while {@link #share} was in force) at {@code now}.
   *
   * @param utilization empty when the region has no healthy private endpoint: the burst ends
   */
  public BurstState next(BurstPolicy policy, Instant now, OptionalDouble utilization) {
    requireNonNull(policy, "policy");
    requireNonNull(now, "now");
    requireNonNull(utilization, "utilization");
    double target;
    if (!policy.enabled() || utilization.isEmpty()) {
      target = 0;
    } else {
      double measured = utilization.getAsDouble();
      double demand = measured / (1 - share);
      if (!bursting()) {
        target = measured > policy.highWatermark() ? needed(policy, demand) : 0;
      } else if (demand < policy.lowWatermark()) {
        target = 0;
      } else if (demand > policy.highWatermark()) {
        double needed = needed(policy, demand);
        target = Math.abs(needed - share) < ADJUST_DEADBAND ? share : needed;
      } else {
        target = share; // between the watermarks: hold (hysteresis)
      }
    }
    if (Math.abs(target - share) < 0.005) {
      return this;
    }
    boolean held = Duration.between(changedAt, now).compareTo(policy.minHold()) < 0;
    if (held && policy.enabled() && utilization.isPresent()) {
      return this;
    }
    return new BurstState(target, now);
  }

  /** The share that brings the private tier back to the high watermark, whole percent, capped. */
  private static double needed(BurstPolicy policy, double demand) {
    double raw = 1 - policy.highWatermark() / demand;
    double percent = Math.ceil(raw * 100 - 1e-9);
    return Math.min(Math.max(percent, 1), Math.floor(policy.maxShare() * 100)) / 100;
  }
}
