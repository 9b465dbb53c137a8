package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * Which server a client accepts, checked on the server's SPIFFE ID during the TLS handshake in
 * place of host-name verification (as SPIFFE X.509-SVID clients do). The trust domain is always
 * checked: a server must be in the client's own trust domain. Immutable and thread-safe; equal
 * expectations are {@link #equals equal}.
 */
public final class ExpectedIdentity {
  private final Set<Role> roles;
  private final SpiffeId exactly;

  private ExpectedIdentity(Set<Role> roles, SpiffeId exactly) {
    this.roles = roles;
    this.exactly = exactly;
  }

  /** Any server of the mesh's trust domain, whatever its role. */
  public static ExpectedIdentity anyRole() {
    return new ExpectedIdentity(Set.copyOf(EnumSet.allOf(Role.class)), null);
  }

  /** A server whose role is one of those given, e.g. {@code roles(Role.CORE)}. */
  public static ExpectedIdentity roles(Role first, Role... more) {
    requireNonNull(first, "first");
    requireNonNull(more, "more");
    EnumSet<Role> roles = EnumSet.of(first, more);
    return new ExpectedIdentity(Set.copyOf(roles), null);
  }

  /** Exactly this server identity. */
  public static ExpectedIdentity exactly(SpiffeId id) {
    return new ExpectedIdentity(Set.of(requireNonNull(id, "id").role()), id);
  }

  /** Whether a server presenting {@code id} is acceptable (the trust domain is checked apart). */
  public boolean matches(SpiffeId id) {
    requireNonNull(id, "id");
    return exactly != null ? exactly.equals(id) : roles.contains(id.role());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExpectedIdentity other
        && roles.equals(other.roles) && Objects.equals(exactly, other.exactly);
  }

  @Override
  public int hashCode() {
    return Objects.hash(roles, exactly);
  }

  @Override
  public String toString() {
    if (exactly != null) {
      return exactly.toString();
    }
    if (roles.size() == Role.values().length) {
      return "any mesh role";
    }
    return "role " + EnumSet.copyOf(roles);
  }
}
