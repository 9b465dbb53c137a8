package io.infermesh.xds.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.xds.canary.RolloutPlan;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshPolicy;
import java.util.List;
import java.util.Optional;

/**
 * Everything {@code mesh.yaml} says: the data-plane policy, how the control plane runs, and where
 * endpoints come from (static entries, and Consul when configured), and the canary rollouts the
 * control plane drives ({@code rollouts}). Immutable.
 */
public record MeshConfig(
    MeshPolicy policy,
    ControlSettings control,
    Optional<ConsulConfig> consul,
    List<MeshEndpoint> staticEndpoints,
    List<RolloutPlan> rollouts) {

  public MeshConfig {
    requireNonNull(policy, "policy");
    requireNonNull(control, "control");
    requireNonNull(consul, "consul");
    staticEndpoints = List.copyOf(requireNonNull(staticEndpoints, "staticEndpoints"));
    rollouts = List.copyOf(requireNonNull(rollouts, "rollouts"));
    for (RolloutPlan r : rollouts) {
      if (policy.service(r.service()).isEmpty()) {
        throw new IllegalArgumentException("rollout of service " + r.service() + ", which services does not list");
      }
    }
  }

  /** A mesh with no canary rollouts. */
  public MeshConfig(MeshPolicy policy, ControlSettings control, Optional<ConsulConfig> consul,
      List<MeshEndpoint> staticEndpoints) {
    this(policy, control, consul, staticEndpoints, List.of());
  }

  public MeshConfig withControl(ControlSettings newControl) {
    return new MeshConfig(policy, newControl, consul, staticEndpoints, rollouts);
  }

  public MeshConfig withPolicy(MeshPolicy newPolicy) {
    return new MeshConfig(newPolicy, control, consul, staticEndpoints, rollouts);
  }

  public MeshConfig withRollouts(List<RolloutPlan> newRollouts) {
    return new MeshConfig(policy, control, consul, staticEndpoints, newRollouts);
  }
}
