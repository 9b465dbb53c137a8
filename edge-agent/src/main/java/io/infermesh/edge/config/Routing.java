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
 */
public record Routing(List<String> coreModels, List<String> localOnlyTenants, String scorer,
    Optional<Path> trainingFile, double threshold, OptionalDouble targetRate, int window, Duration defaultBudget,
    Cascade cascade) {
  public static final Routing DEFAULT = new Routing(List.of(), List.of(), "features", Optional.empty(), 0.5,
      OptionalDouble.empty(), 1000, Duration.ofSeconds(30));

  /** Settings without the cascade. */
  public Routing(List<String> coreModels, List<String> localOnlyTenants, String scorer, Optional<Path> trainingFile,
      double threshold, OptionalDouble targetRate, int window, Duration defaultBudget) {
    this(coreModels, localOnlyTenants, scorer, trainingFile, threshold, targetRate, window, defaultBudget,
        Cascade.DISABLED);
  }

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
  }

  /** These settings with {@code cascade}. */
  public Routing withCascade(Cascade cascade) {
    return new Routing(coreModels, localOnlyTenants, scorer, trainingFile, threshold, targetRate, window,
        defaultBudget, cascade);
  }
}
