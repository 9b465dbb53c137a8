package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import java.util.regex.Pattern;

/**
 * Shadow traffic ({@code escalation.shadow} in {@code edge.yaml}): a sample of the requests this
 * edge escalates is sent a second time, pinned to another model version, and the two answers are
 * compared; the caller only ever gets the first. Validated when built; errors name the key.
 *
 * @param version the model version mirrored to, sent as the pin header {@code
 *     x-infermesh-model-version} that the control plane's routes (and the core) select a version on
 * @param fraction share of escalated requests mirrored, in (0, 1]
 * @param maxInFlight mirrored calls at most in flight at once; a request sampled while this many
 *     are running is not mirrored (counted as dropped)
 */
public record Shadow(String version, double fraction, int maxInFlight) {

  private static final Pattern VERSION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  public Shadow {
    requireNonNull(version, "version");
    if (!VERSION.matcher(version).matches()) {
      throw new ConfigException("escalation.shadow.version", "must be a model version name matching " + VERSION
          + ", was '" + version + "'");
    }
    if (!(fraction > 0 && fraction <= 1)) {
      throw new ConfigException("escalation.shadow.fraction", "must be in (0, 1], was " + fraction);
    }
    if (maxInFlight < 1 || maxInFlight > 1024) {
      throw new ConfigException("escalation.shadow.max_in_flight", "must be in 1..1024, was " + maxInFlight);
    }
  }

  /** {@code escalation.shadow.max_in_flight} when not given. */
  public static final int DEFAULT_MAX_IN_FLIGHT = 4;
}
