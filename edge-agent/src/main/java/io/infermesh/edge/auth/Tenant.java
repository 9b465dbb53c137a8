package io.infermesh.edge.auth;

import static java.util.Objects.requireNonNull;

/**
 * Who a request is billed and rate-limited to.
 *
 * @param name the tenant name
 * @param requestsPerMinute requests admitted per minute; 0 is unlimited
 * @param tokensPerMinute prompt + completion tokens per minute; 0 is unlimited
 */
public record Tenant(String name, long requestsPerMinute, long tokensPerMinute) {
  /** The tenant of every request when no API keys are configured. */
  public static final Tenant ANONYMOUS = new Tenant("default", 0, 0);

  public Tenant {
    requireNonNull(name, "name");
    if (requestsPerMinute < 0 || tokensPerMinute < 0) {
      throw new IllegalArgumentException("limits must not be negative");
    }
  }
}
