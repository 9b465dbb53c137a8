package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * {@code leases:}: token budgets the core leases to this device for its tenants, spent while the
 * core cannot be reached ({@code edge-degraded} answers) and reported when it is back. Off by
 * default ({@link #NONE}). Needs {@code escalation} (the core grants them over the same mTLS
 * identity) and a {@code file} (the durable wallet). Immutable.
 *
 * @param enabled whether degraded answers spend from leases (and are refused with 429 without one)
 * @param file the wallet: the leases and what was spent from each, fsync'd before a token is served
 * @param tenants the tenants to hold leases for; empty: every {@code auth.tenants} name, or {@code
 *     default} without auth
 * @param tokensPerGrant tokens asked for per grant (the core may cap it)
 * @param renewBelow a tenant whose valid leases hold fewer unspent tokens than this gets a new one
 * @param renewBefore a lease expiring within this is renewed (a new one granted beside it)
 * @param syncInterval how often the edge reports spending and renews while it can reach the core
 */
public record Leases(boolean enabled, Optional<Path> file, List<String> tenants, long tokensPerGrant,
    long renewBelow, Duration renewBefore, Duration syncInterval) {
  /** Off. */
  public static final Leases NONE = new Leases(false, Optional.empty(), List.of(), 10_000, 2_000,
      Duration.ofMinutes(10), Duration.ofSeconds(10));

  public Leases {
    requireNonNull(file, "leases.file");
    tenants = List.copyOf(requireNonNull(tenants, "leases.tenants"));
    if (enabled && file.isEmpty()) {
      throw new ConfigException("leases.file", "must be set when leases.enabled is true (the durable wallet)");
    }
    for (int i = 0; i < tenants.size(); i++) {
      if (tenants.get(i).isEmpty()) {
        throw new ConfigException("leases.tenants[" + i + "]", "must not be empty");
      }
    }
    if (tokensPerGrant < 1) {
      throw new ConfigException("leases.tokens_per_grant", "must be at least 1, got " + tokensPerGrant);
    }
    if (renewBelow < 0) {
      throw new ConfigException("leases.renew_below", "must not be negative, got " + renewBelow);
    }
    requireNonNull(renewBefore, "leases.renew_before");
    if (renewBefore.isNegative()) {
      throw new ConfigException("leases.renew_before", "must not be negative, got " + renewBefore);
    }
    EdgeConfig.requirePositive("leases.sync_interval", syncInterval);
  }

  /** This section, on, with its wallet in {@code wallet}. */
  public Leases on(Path wallet) {
    return new Leases(true, Optional.of(wallet), tenants, tokensPerGrant, renewBelow, renewBefore, syncInterval);
  }

  /** This section holding leases for {@code names}. */
  public Leases forTenants(List<String> names) {
    return new Leases(enabled, file, names, tokensPerGrant, renewBelow, renewBefore, syncInterval);
  }

  /** This section with grants of {@code tokens}, renewed below {@code below}. */
  public Leases grants(long tokens, long below) {
    return new Leases(enabled, file, tenants, tokens, below, renewBefore, syncInterval);
  }

  /** This section syncing every {@code interval}. */
  public Leases syncEvery(Duration interval) {
    return new Leases(enabled, file, tenants, tokensPerGrant, renewBelow, renewBefore, interval);
  }
}
