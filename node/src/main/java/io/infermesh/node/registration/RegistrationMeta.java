package io.infermesh.node.registration;

import java.util.List;

/**
 * The Consul tag and meta keys a node registers with and xds-control's discovery reads: one
 * vocabulary, spelled once, for both sides of the registry.
 */
public final class RegistrationMeta {
  /** The node's mesh role ({@code core}, {@code edge}); discovery skips a role the service is not served by. */
  public static final String ROLE = "role";
  /** The node's region; discovery falls back to the Consul datacenter. */
  public static final String REGION = "region";
  /** {@code private} or {@code public} capacity. */
  public static final String TIER = "tier";
  /** The zone within the region (optional). */
  public static final String ZONE = "zone";
  /** The model the node serves. */
  public static final String MODEL = "model";
  /** The model's version (optional). */
  public static final String VERSION = "version";
  /** The node's load in [0, 1], two decimals with a dot, refreshed with the TTL check. */
  public static final String UTILIZATION = "utilization";

  /**
   * The node's plain-HTTP Prometheus {@code /metrics} port on its service address (optional; the
   * control plane scrapes it to judge canary rollouts). A node sets it as extra meta.
   */
  public static final String METRICS_PORT = "metrics_port";

  /** Keys the registration writes itself; a node's extra meta may not use them. */
  public static final List<String> RESERVED = List.of(ROLE, REGION, TIER, MODEL, VERSION, UTILIZATION);

  private RegistrationMeta() {}
}
