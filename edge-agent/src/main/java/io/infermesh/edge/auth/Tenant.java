package io.infermesh.edge.auth;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.Priority;
import java.util.Optional;

/**
 * Who a request is billed and rate-limited to, and who sent it.
 *
 * @param name the tenant name
 * @param requestsPerMinute requests admitted per minute; 0 is unlimited
 * @param tokensPerMinute prompt + completion tokens per minute; 0 is unlimited
 * @param caller who sent it, for the audit log and never a secret: {@code api-key:acme#0} (the
 *     tenant's first key), {@code jwt:SUBJECT}, or {@code anonymous}
 * @param priorityCeiling the highest admission priority it may ask for (a JWT's claim); empty: any
 * @param privacyPolicy the privacy policy its credential names (a JWT's claim); empty: the tenant's
 */
public record Tenant(String name, long requestsPerMinute, long tokensPerMinute, String caller,
    Optional<Priority> priorityCeiling, Optional<String> privacyPolicy) {
  /** The tenant of every request when no API keys are configured. */
  public static final Tenant ANONYMOUS = new Tenant("default", 0, 0);

  public Tenant {
    requireNonNull(name, "name");
    requireNonNull(caller, "caller");
    requireNonNull(priorityCeiling, "priorityCeiling");
    requireNonNull(privacyPolicy, "privacyPolicy");
    if (requestsPerMinute < 0 || tokensPerMinute < 0) {
      throw new IllegalArgumentException("limits must not be negative");
    }
  }

  /** Tenant {@code name} sent by an unnamed caller, with no ceiling and its own privacy policy. */
  public Tenant(String name, long requestsPerMinute, long tokensPerMinute) {
    this(name, requestsPerMinute, tokensPerMinute, "anonymous", Optional.empty(), Optional.empty());
  }

  /** This tenant as sent by {@code who}. */
  public Tenant calledBy(String who) {
    return new Tenant(name, requestsPerMinute, tokensPerMinute, who, priorityCeiling, privacyPolicy);
  }
}
