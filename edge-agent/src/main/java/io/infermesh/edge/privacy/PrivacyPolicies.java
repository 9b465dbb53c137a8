package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The edge's privacy policies by name, which one each tenant gets, and one {@link Masker} per policy
 * (built once, shared by all requests).
 *
 * <p>A tenant not listed gets the default policy; with no default, {@link PrivacyPolicy#none} named
 * {@code none}. A JWT may name a policy ({@code privacy_policy} claim): {@link #named} finds it, and
 * the caller decides whether a token may choose (the planned rule: only among policies at least as
 * strict as the tenant's, so a token can tighten but never loosen).
 *
 * <p>Immutable and thread-safe.
 */
public final class PrivacyPolicies {
  private final Map<String, Masker> byName;
  private final Map<String, String> byTenant;
  private final Masker defaultMasker;

  private PrivacyPolicies(Builder b) {
    Map<String, Masker> maskers = new HashMap<>();
    b.policies.forEach((name, policy) -> maskers.put(name, Masker.of(policy)));
    this.byName = Map.copyOf(maskers);
    this.byTenant = Map.copyOf(b.tenants);
    this.defaultMasker = b.defaultPolicy == null ? Masker.of(PrivacyPolicy.none("none")) : byName.get(b.defaultPolicy);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The masker of {@code tenant}'s policy. */
  public Masker forTenant(String tenant) {
    String name = byTenant.get(requireNonNull(tenant, "tenant"));
    return name == null ? defaultMasker : byName.get(name);
  }

  /** The masker of the policy called {@code name}, if there is one. */
  public Optional<Masker> named(String name) {
    return Optional.ofNullable(byName.get(requireNonNull(name, "name")));
  }

  /** Not thread-safe; build once. */
  public static final class Builder {
    private final Map<String, PrivacyPolicy> policies = new HashMap<>();
    private final Map<String, String> tenants = new HashMap<>();
    private String defaultPolicy;

    private Builder() {}

    /** Adds {@code policy} under its name. */
    public Builder policy(PrivacyPolicy policy) {
      requireNonNull(policy, "policy");
      if (policies.putIfAbsent(policy.name(), policy) != null) {
        throw new IllegalArgumentException("privacy policy " + policy.name() + " is defined twice");
      }
      return this;
    }

    /** Gives {@code tenant} the policy called {@code policyName}. */
    public Builder tenant(String tenant, String policyName) {
      tenants.put(requireNonNull(tenant, "tenant"), requireNonNull(policyName, "policyName"));
      return this;
    }

    /** The policy of tenants not listed. */
    public Builder defaultPolicy(String policyName) {
      this.defaultPolicy = requireNonNull(policyName, "policyName");
      return this;
    }

    /** Checks that every named policy exists. */
    public PrivacyPolicies build() {
      tenants.forEach((tenant, name) -> {
        if (!policies.containsKey(name)) {
          throw new IllegalArgumentException("tenant " + tenant + " has privacy policy " + name
              + ", which is not defined; defined: " + policies.keySet());
        }
      });
      if (defaultPolicy != null && !policies.containsKey(defaultPolicy)) {
        throw new IllegalArgumentException("the default privacy policy " + defaultPolicy
            + " is not defined; defined: " + policies.keySet());
      }
      return new PrivacyPolicies(this);
    }
  }
}
