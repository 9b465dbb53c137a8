package io.infermesh.core.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code tenants:} section of {@code core.yaml}: who may name the tenant a request is billed to,
 * and each tenant's limits. Off by default ({@code enforce: false}): the core then serves a request
 * naming any tenant from any caller the authorization policy lets in, as before. Built with {@link
 * #builder()}.
 *
 * @param enforce whether the core checks the caller's right to name a tenant and the tenant's limits
 * @param vouchRoles SPIFFE roles whose callers may name a tenant (default edge and gateway)
 * @param vouchIds exact SPIFFE IDs that may name a tenant besides those roles
 * @param defaults the limits of a tenant not in {@code tenants}, each tenant its own budget
 * @param tenants limits by tenant name
 */
public record Tenants(boolean enforce, Set<Role> vouchRoles, Set<SpiffeId> vouchIds, Limits defaults,
    Map<String, Limits> tenants) {

  public Tenants {
    vouchRoles = Set.copyOf(requireNonNull(vouchRoles, "vouchRoles"));
    vouchIds = Set.copyOf(requireNonNull(vouchIds, "vouchIds"));
    requireNonNull(defaults, "defaults");
    tenants = Map.copyOf(requireNonNull(tenants, "tenants"));
  }

  /** {@code enforce: false}, roles edge and gateway vouch, no limits. */
  public static Tenants off() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The limits of {@code tenant}: its own, else the defaults. */
  public Limits limits(String tenant) {
    return tenants.getOrDefault(tenant, defaults);
  }

  /**
   * One tenant's limits; 0 means no limit.
   *
   * @param requestsPerMinute requests admitted per minute (a token bucket: bursts up to a minute's worth)
   * @param tokensPerMinute prompt + completion tokens per minute, counted when a call ends; a tenant in
   *     debt waits until the bucket refills
   * @param tokensPerDay prompt + completion tokens per UTC day, reserved at admission (prompt + max_tokens)
   * @param tokensPerMonth the same per UTC month
   */
  public record Limits(long requestsPerMinute, long tokensPerMinute, long tokensPerDay, long tokensPerMonth) {
    /** No limit at all. */
    public static final Limits NONE = new Limits(0, 0, 0, 0);

    public Limits {
      notNegative("requests_per_minute", requestsPerMinute);
      notNegative("tokens_per_minute", tokensPerMinute);
      notNegative("tokens_per_day", tokensPerDay);
      notNegative("tokens_per_month", tokensPerMonth);
    }

    private static void notNegative(String key, long v) {
      if (v < 0) {
        throw new IllegalArgumentException(key + ": must be >= 0 (0: no limit), got " + v);
      }
    }
  }

  /** Not thread-safe; {@link #build()} validates. */
  public static final class Builder {
    private boolean enforce;
    private final Set<Role> vouchRoles = new HashSet<>(List.of(Role.EDGE, Role.GATEWAY));
    private final Set<SpiffeId> vouchIds = new HashSet<>();
    private Limits defaults = Limits.NONE;
    private final Map<String, Limits> tenants = new LinkedHashMap<>();

    private Builder() {}

    public Builder enforce(boolean on) {
      this.enforce = on;
      return this;
    }

    /** Replaces the roles that may vouch (default edge and gateway); none is allowed (then only {@code ids}). */
    public Builder vouchRoles(Set<Role> roles) {
      vouchRoles.clear();
      vouchRoles.addAll(requireNonNull(roles, "roles"));
      return this;
    }

    public Builder vouchId(SpiffeId id) {
      vouchIds.add(requireNonNull(id, "id"));
      return this;
    }

    public Builder defaults(Limits limits) {
      this.defaults = requireNonNull(limits, "limits");
      return this;
    }

    /** {@code tenant}'s own limits. */
    public Builder tenant(String tenant, Limits limits) {
      requireNonNull(tenant, "tenant");
      if (tenant.isEmpty()) {
        throw new IllegalArgumentException("a tenant's name must not be empty");
      }
      if (tenants.putIfAbsent(tenant, requireNonNull(limits, "limits")) != null) {
        throw new IllegalArgumentException("tenant '" + tenant + "' is listed twice");
      }
      return this;
    }

    public Tenants build() {
      return new Tenants(enforce, vouchRoles, vouchIds, defaults, tenants);
    }
  }
}
