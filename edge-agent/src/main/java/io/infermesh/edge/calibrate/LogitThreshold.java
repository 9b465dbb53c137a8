package io.infermesh.edge.calibrate;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.edge.route.Threshold;

/**
 * A threshold held on target by stochastic approximation (Robbins–Monro), kept in logit space
 * ({@code t = logit(threshold)}, clamped to ±{@value #LIMIT}) because learned scores crowd near 0
 * and 1. Each observation moves it: {@code t ← t + η (1[event] − target)}. Two uses:
 *
 * <ul>
 *   <li>{@link #forEscalationRate}: the event is "this request escalated", observed on every
 *       decision. Summing the updates, {@code Σ (1[escalated] − target) = (t_end − t_start) / η}: over
 *       any N decisions the escalation rate is within {@code |Δt| / (η N)} of the target, ties and all
 *       (a running quantile overshoots when many scores are equal).
 *   <li>{@link #forAgreement}: the event is "the core agreed with a local answer", observed per
 *       shadow comparison: agreement above target raises the threshold (fewer escalations), below
 *       lowers it; the fixed point is the threshold at which local answers agree at the target rate.
 * </ul>
 *
 * <p>Thread-safe: the logit is guarded by {@code this}.
 */
final class LogitThreshold implements Threshold {
  static final double LIMIT = 20;

  private final double target;
  private final double step;
  private final boolean onDecisions;
  @GuardedBy("this")
  private double logit;

  private LogitThreshold(double target, double step, double initial, boolean onDecisions) {
    if (!(target > 0 && target < 1)) {
      throw new IllegalArgumentException("target must be in (0, 1), got " + target);
    }
    if (!(step > 0)) {
      throw new IllegalArgumentException("step must be positive, got " + step);
    }
    if (!(initial >= 0 && initial <= 1)) {
      throw new IllegalArgumentException("initial threshold must be in [0, 1], got " + initial);
    }
    this.target = target;
    this.step = step;
    this.onDecisions = onDecisions;
    this.logit = clamp(Math.log(initial / (1 - initial)));
  }

  /** Escalates {@code rate} of the decisions it sees. */
  static LogitThreshold forEscalationRate(double rate, double step, double initial) {
    return new LogitThreshold(rate, step, initial, true);
  }

  /** Keeps the core's agreement with local answers at {@code agreement} ({@link #observe}). */
  static LogitThreshold forAgreement(double agreement, double step, double initial) {
    return new LogitThreshold(agreement, step, initial, false);
  }

  @Override
  public synchronized boolean escalate(double score) {
    boolean up = clamp(Math.log(score / (1 - score))) >= logit;
    if (onDecisions) {
      move(up);
    }
    return up;
  }

  /** One shadow comparison's outcome (ignored by an escalation-rate threshold). */
  synchronized void observe(boolean agreed) {
    if (!onDecisions) {
      move(agreed);
    }
  }

  @GuardedBy("this")
  private void move(boolean event) {
    logit = clamp(logit + step * ((event ? 1 : 0) - target));
  }

  @Override
  public synchronized double value() {
    return 1 / (1 + Math.exp(-logit));
  }

  private static double clamp(double z) {
    return Double.isNaN(z) ? 0 : Math.max(-LIMIT, Math.min(LIMIT, z));
  }

  @Override
  public String toString() {
    return "LogitThreshold{" + (onDecisions ? "escalation_rate=" : "agreement=") + target + ", value=" + value() + "}";
  }
}
