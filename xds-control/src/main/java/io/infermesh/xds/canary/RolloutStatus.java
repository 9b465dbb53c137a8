package io.infermesh.xds.canary;

import static java.util.Objects.requireNonNull;

import io.infermesh.xds.snapshot.VersionWeight;
import java.time.Instant;
import java.util.List;

/**
 * Where a rollout stands: what the admin endpoint shows and the metrics export. Immutable.
 *
 * @param service the service rolled out
 * @param stable its stable version
 * @param canary the version rolled out
 * @param phase progressing, completed or rolled back
 * @param step index into the plan's steps (the last step once completed; the step it failed at
 *     after a rollback)
 * @param canaryPercent unpinned traffic on the canary now: the step's percent, 100 once completed,
 *     0 after a rollback
 * @param since when the phase or step last changed
 * @param reason why it is where it is, in words (e.g. the SLO breached, with the figures)
 * @param window the canary's figures in the current step so far (requests, errors, TTFT)
 */
public record RolloutStatus(
    String service,
    String stable,
    String canary,
    Phase phase,
    int step,
    int canaryPercent,
    Instant since,
    String reason,
    VersionStats window) {

  /** A rollout's phase. */
  public enum Phase {
    /** Moving through the steps. */
    PROGRESSING,
    /** The canary has all traffic; the rollout is over. */
    COMPLETED,
    /** An SLO was breached: all traffic is back on stable, for good (until the plan changes). */
    ROLLED_BACK
  }

  public RolloutStatus {
    requireNonNull(service, "service");
    requireNonNull(stable, "stable");
    requireNonNull(canary, "canary");
    requireNonNull(phase, "phase");
    requireNonNull(since, "since");
    requireNonNull(reason, "reason");
    requireNonNull(window, "window");
  }

  /** The split of unpinned traffic this status asks for: stable and canary in percent. */
  public List<VersionWeight> weights() {
    return List.of(new VersionWeight(stable, 100 - canaryPercent), new VersionWeight(canary, canaryPercent));
  }
}
