package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.calibrate.CalibrationTarget;
import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The router's self-calibration ({@code routing.calibration} in {@code edge.yaml}): shadow
 * escalations of local answers teach an online learned scorer over the edge model's embeddings,
 * and the threshold is held at {@code target}. See the edge agent's README, "Calibration".
 *
 * @param enabled whether it runs (off by default; needs {@code escalation.target})
 * @param target {@code escalation_rate=<r>} or {@code agreement=<a>}, in (0, 1)
 * @param shadowFraction share of eligible local answers also sent to the core, in [0, 1]
 * @param agreementThreshold word-edit similarity at or above which the two answers agree, in [0, 1]
 * @param learningRate SGD step, in (0, 1]
 * @param l2 L2 decay per step, in [0, 1)
 * @param step how far one observation moves the threshold, in logit units, in (0, 1]
 * @param initialThreshold the threshold before it is calibrated, in [0, 1]
 * @param stateFile where the learned scorer is kept across restarts; none: in memory only
 * @param concurrency shadows in flight at once, at least 1
 * @param queue shadows waiting for a worker, at least 1; more are dropped
 * @param timeout deadline of one shadow call
 */
public record Calibration(boolean enabled, CalibrationTarget target, double shadowFraction,
    double agreementThreshold, double learningRate, double l2, double step, double initialThreshold,
    Optional<Path> stateFile, int concurrency, int queue, Duration timeout) {
  /** Off; when enabled: escalation_rate=0.2, 5% shadowed, agreement at 0.8 similarity. */
  public static final Calibration DISABLED = new Builder().build();

  public Calibration {
    requireNonNull(target, "routing.calibration.target");
    in("shadow_fraction", shadowFraction, 0, 1);
    in("agreement_threshold", agreementThreshold, 0, 1);
    if (!(learningRate > 0 && learningRate <= 1)) {
      throw new ConfigException("routing.calibration.learning_rate", "must be in (0, 1], got " + learningRate);
    }
    if (!(l2 >= 0 && l2 < 1)) {
      throw new ConfigException("routing.calibration.l2", "must be in [0, 1), got " + l2);
    }
    if (!(step > 0 && step <= 1)) {
      throw new ConfigException("routing.calibration.step", "must be in (0, 1], got " + step);
    }
    in("initial_threshold", initialThreshold, 0, 1);
    requireNonNull(stateFile, "routing.calibration.state_file");
    if (concurrency < 1) {
      throw new ConfigException("routing.calibration.concurrency", "must be at least 1, got " + concurrency);
    }
    if (queue < 1) {
      throw new ConfigException("routing.calibration.queue", "must be at least 1, got " + queue);
    }
    requireNonNull(timeout, "routing.calibration.timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new ConfigException("routing.calibration.timeout", "must be positive, got " + timeout);
    }
  }

  private static void in(String key, double value, double low, double high) {
    if (!(value >= low && value <= high)) {
      throw new ConfigException("routing.calibration." + key, "must be in [" + low + ", " + high + "], got " + value);
    }
  }

  /** Settings at {@link #DISABLED} until set. */
  public static Builder builder() {
    return new Builder();
  }

  /** Configures {@link Calibration}; {@link #build()} checks every rule, naming the key. Not thread-safe. */
  public static final class Builder {
    private boolean enabled;
    private CalibrationTarget target = new CalibrationTarget.EscalationRate(0.2);
    private double shadowFraction = 0.05;
    private double agreementThreshold = 0.8;
    private double learningRate = 0.05;
    private double l2 = 1e-4;
    private double step = 0.05;
    private double initialThreshold = 0.5;
    private Optional<Path> stateFile = Optional.empty();
    private int concurrency = 1;
    private int queue = 64;
    private Duration timeout = Duration.ofSeconds(60);

    private Builder() {}

    /** {@code routing.calibration.enabled}; default false. */
    public Builder enabled(boolean enabled) {
      this.enabled = enabled;
      return this;
    }

    /** {@code routing.calibration.target}; default {@code escalation_rate=0.2}. */
    public Builder target(CalibrationTarget target) {
      this.target = target;
      return this;
    }

    /**
     * {@code routing.calibration.target} in its config form.
     *
     * @throws ConfigException naming the key when it does not parse
     */
    public Builder target(String text) {
      try {
        this.target = CalibrationTarget.parse(text);
      } catch (IllegalArgumentException e) {
        throw new ConfigException("routing.calibration.target", e.getMessage());
      }
      return this;
    }

    /** {@code routing.calibration.shadow_fraction}; default 0.05. */
    public Builder shadowFraction(double shadowFraction) {
      this.shadowFraction = shadowFraction;
      return this;
    }

    /** {@code routing.calibration.agreement_threshold}; default 0.8. */
    public Builder agreementThreshold(double agreementThreshold) {
      this.agreementThreshold = agreementThreshold;
      return this;
    }

    /** {@code routing.calibration.learning_rate}; default 0.05. */
    public Builder learningRate(double learningRate) {
      this.learningRate = learningRate;
      return this;
    }

    /** {@code routing.calibration.l2}; default 1e-4. */
    public Builder l2(double l2) {
      this.l2 = l2;
      return this;
    }

    /** {@code routing.calibration.step}; default 0.05. */
    public Builder step(double step) {
      this.step = step;
      return this;
    }

    /** {@code routing.calibration.initial_threshold}; default 0.5. */
    public Builder initialThreshold(double initialThreshold) {
      this.initialThreshold = initialThreshold;
      return this;
    }

    /** {@code routing.calibration.state_file}, or none; default none. */
    public Builder stateFile(Optional<Path> stateFile) {
      this.stateFile = stateFile;
      return this;
    }

    /** {@code routing.calibration.concurrency}; default 1. */
    public Builder concurrency(int concurrency) {
      this.concurrency = concurrency;
      return this;
    }

    /** {@code routing.calibration.queue}; default 64. */
    public Builder queue(int queue) {
      this.queue = queue;
      return this;
    }

    /** {@code routing.calibration.timeout}; default 60s. */
    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    /** @throws ConfigException naming the first key whose value breaks its rule */
    public Calibration build() {
      return new Calibration(enabled, target, shadowFraction, agreementThreshold, learningRate, l2, step,
          initialThreshold, stateFile, concurrency, queue, timeout);
    }
  }
}
