package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The router's settings ({@code routing} in {@code edge.yaml}).
 *
 * @param coreModels model names only the core serves (requests for them escalate)
 * @param localOnlyTenants tenants whose requests never leave this device
 * @param scorer {@code features} or {@code learned}
 * @param trainingFile for {@code learned}: a JSONL file of {@code {"prompt", "needs_core"}} examples
 * @param threshold difficulty at or above which a request escalates, in [0, 1]
 * @param targetRate when set, the threshold is calibrated so this share of recent requests escalates, in (0, 1)
 * @param window recent scores the calibration looks at
 * @param defaultBudget the latency budget of a request that states none (edge saturation check)
 * @param cascade the optional local-draft check ({@link Cascade#DISABLED} by default)
 * @param calibration the optional self-calibration from shadow escalations ({@link Calibration#DISABLED} by default)
 */
public record Routing(List<String> coreModels, List<String> localOnlyTenants, String scorer,
    Optional<Path> trainingFile, double threshold, OptionalDouble targetRate, int window, Duration defaultBudget,
    Cascade cascade, Calibration calibration) {
  /** No rules, the feature scorer at threshold 0.5, a 1000-score window, 30s budgets, no cascade. */
  public static final Routing DEFAULT = new Builder().build();

  public Routing {
    coreModels = List.copyOf(requireNonNull(coreModels, "routing.core_models"));
    localOnlyTenants = List.copyOf(requireNonNull(localOnlyTenants, "routing.local_only_tenants"));
    requireNonNull(scorer, "routing.scorer");
    if (!scorer.equals("features") && !scorer.equals("learned")) {
      throw new ConfigException("routing.scorer", "must be 'features' or 'learned', got '" + scorer + "'");
    }
    requireNonNull(trainingFile, "routing.training_file");
    if (scorer.equals("learned") && trainingFile.isEmpty()) {
      throw new ConfigException("routing.training_file", "is required when routing.scorer is 'learned'");
    }
    if (!(threshold >= 0 && threshold <= 1)) {
      throw new ConfigException("routing.threshold", "must be in [0, 1], got " + threshold);
    }
    requireNonNull(targetRate, "routing.target_rate");
    if (targetRate.isPresent() && !(targetRate.getAsDouble() > 0 && targetRate.getAsDouble() < 1)) {
      throw new ConfigException("routing.target_rate", "must be in (0, 1), got " + targetRate.getAsDouble());
    }
    if (window < 1) {
      throw new ConfigException("routing.window", "must be at least 1, got " + window);
    }
    requireNonNull(defaultBudget, "routing.default_budget");
    if (defaultBudget.isNegative()) {
      throw new ConfigException("routing.default_budget", "must not be negative, got " + defaultBudget);
    }
    requireNonNull(cascade, "routing.cascade");
    requireNonNull(calibration, "routing.calibration");
    if (calibration.enabled() && (scorer.equals("learned") || targetRate.isPresent())) {
      throw new ConfigException("routing.calibration.enabled", "the calibration learns the scorer and sets the"
          + " threshold itself: remove routing.scorer: learned and routing.target_rate, or disable it");
    }
  }

  /** These settings with {@code cascade}. */
  public Routing withCascade(Cascade cascade) {
    return toBuilder().cascade(cascade).build();
  }

  /** Settings at {@link #DEFAULT} until set. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these settings. */
  public Builder toBuilder() {
    return new Builder().coreModels(coreModels).localOnlyTenants(localOnlyTenants).scorer(scorer)
        .trainingFile(trainingFile).threshold(threshold).targetRate(targetRate).window(window)
        .defaultBudget(defaultBudget).cascade(cascade).calibration(calibration);
  }

  /** Configures {@link Routing}; {@link #build()} checks every rule, naming the key. Not thread-safe. */
  public static final class Builder {
    private List<String> coreModels = List.of();
    private List<String> localOnlyTenants = List.of();
    private String scorer = "features";
    private Optional<Path> trainingFile = Optional.empty();
    private double threshold = 0.5;
    private OptionalDouble targetRate = OptionalDouble.empty();
    private int window = 1000;
    private Duration defaultBudget = Duration.ofSeconds(30);
    private Cascade cascade = Cascade.DISABLED;
    private Calibration calibration = Calibration.DISABLED;

    private Builder() {}

    /** {@code routing.core_models}; default none. */
    public Builder coreModels(List<String> coreModels) {
      this.coreModels = coreModels;
      return this;
    }

    /** {@code routing.local_only_tenants}; default none. */
    public Builder localOnlyTenants(List<String> localOnlyTenants) {
      this.localOnlyTenants = localOnlyTenants;
      return this;
    }

    /** {@code routing.scorer}; default {@code features}. */
    public Builder scorer(String scorer) {
      this.scorer = scorer;
      return this;
    }

    /** {@code routing.training_file}, required by the {@code learned} scorer; default none. */
    public Builder trainingFile(Path trainingFile) {
      return trainingFile(Optional.of(requireNonNull(trainingFile, "trainingFile")));
    }

    /** {@code routing.training_file}, or none. */
    public Builder trainingFile(Optional<Path> trainingFile) {
      this.trainingFile = trainingFile;
      return this;
    }

    /** {@code routing.threshold}; default 0.5. */
    public Builder threshold(double threshold) {
      this.threshold = threshold;
      return this;
    }

    /** {@code routing.target_rate}; default none: the threshold is fixed. */
    public Builder targetRate(double targetRate) {
      return targetRate(OptionalDouble.of(targetRate));
    }

    /** {@code routing.target_rate}, or none. */
    public Builder targetRate(OptionalDouble targetRate) {
      this.targetRate = targetRate;
      return this;
    }

    /** {@code routing.window}; default 1000. */
    public Builder window(int window) {
      this.window = window;
      return this;
    }

    /** {@code routing.default_budget}; default 30s. */
    public Builder defaultBudget(Duration defaultBudget) {
      this.defaultBudget = defaultBudget;
      return this;
    }

    /** {@code routing.cascade}; default {@link Cascade#DISABLED}. */
    public Builder cascade(Cascade cascade) {
      this.cascade = cascade;
      return this;
    }

    /** {@code routing.calibration}; default {@link Calibration#DISABLED}. */
    public Builder calibration(Calibration calibration) {
      this.calibration = calibration;
      return this;
    }

    /** @throws ConfigException naming the first key whose value breaks its rule */
    public Routing build() {
      return new Routing(coreModels, localOnlyTenants, scorer, trainingFile, threshold, targetRate, window,
          defaultBudget, cascade, calibration);
    }
  }
}
