package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Which roles may call which gRPC methods: a table from a whole service ({@code
 * infermesh.v1.Inference}) or one method ({@code infermesh.v1.Inference/Generate}) to the roles
 * allowed. A method's own entry, when present, decides for that method; otherwise its service's
 * entry does; a method with neither is denied to everyone. Health ({@value #HEALTH_SERVICE}) and
 * reflection ({@value #REFLECTION_SERVICE}, {@value #REFLECTION_SERVICE_V1ALPHA}) are open to every
 * role.
 *
 * <p>Plain data over method names, with no transport types; immutable and thread-safe. Build with
 * {@link #builder()}:
 *
 * <pre>{@code
 * RoleAuthorizationPolicy.builder()
 *     .allow("infermesh.v1.Inference", Role.EDGE, Role.GATEWAY)
 *     .allowMethod("infermesh.v1.Admin/Drain", Role.OPERATOR)
 *     .build();
 * }</pre>
 */
public final class RoleAuthorizationPolicy {
  /** The standard health service, open to every role. */
  public static final String HEALTH_SERVICE = "grpc.health.v1.Health";
  /** The standard reflection service, open to every role. */
  public static final String REFLECTION_SERVICE = "grpc.reflection.v1.ServerReflection";
  /** The older reflection service some tools still ask for first, open to every role. */
  public static final String REFLECTION_SERVICE_V1ALPHA = "grpc.reflection.v1alpha.ServerReflection";

  private final Map<String, Set<Role>> services;
  private final Map<String, Set<Role>> methods;

  private RoleAuthorizationPolicy(Builder builder) {
    this.services = freeze(builder.services);
    this.methods = freeze(builder.methods);
  }

  /** A builder whose table already opens health and reflection to every role. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The roles that may call {@code fullMethodName} ({@code package.Service/Method}); empty when
   * nobody may.
   */
  public Set<Role> allowedRoles(String fullMethodName) {
    requireNonNull(fullMethodName, "fullMethodName");
    Set<Role> roles = methods.get(fullMethodName);
    if (roles != null) {
      return roles;
    }
    int slash = fullMethodName.lastIndexOf('/');
    if (slash <= 0) {
      return Set.of();
    }
    return services.getOrDefault(fullMethodName.substring(0, slash), Set.of());
  }

  /** Whether {@code role} may call {@code fullMethodName}. */
  public boolean permits(Role role, String fullMethodName) {
    requireNonNull(role, "role");
    return allowedRoles(fullMethodName).contains(role);
  }

  @Override
  public String toString() {
    return "RoleAuthorizationPolicy{services=" + services + ", methods=" + methods + "}";
  }

  private static Map<String, Set<Role>> freeze(Map<String, EnumSet<Role>> table) {
    Map<String, Set<Role>> frozen = new LinkedHashMap<>();
    table.forEach((name, roles) -> frozen.put(name, Set.copyOf(roles)));
    return Map.copyOf(frozen);
  }

  /** Collects the table; allowing the same service or method twice adds up the roles. Not thread-safe. */
  public static final class Builder {
    private final Map<String, EnumSet<Role>> services = new LinkedHashMap<>();
    private final Map<String, EnumSet<Role>> methods = new LinkedHashMap<>();

    private Builder() {
      for (String open : new String[] {HEALTH_SERVICE, REFLECTION_SERVICE, REFLECTION_SERVICE_V1ALPHA}) {
        services.put(open, EnumSet.allOf(Role.class));
      }
    }

    /**
     * Lets the roles call every method of {@code service} (a full service name such as {@code
     * infermesh.v1.Inference}) that has no entry of its own.
     *
     * @throws IllegalArgumentException when the name is blank or holds a {@code /}
     */
    public Builder allow(String service, Role first, Role... more) {
      requireNonNull(service, "service");
      if (service.isBlank() || service.indexOf('/') >= 0 || !service.equals(service.strip())) {
        throw new IllegalArgumentException("service '" + service + "' must be a full service name such as"
            + " 'infermesh.v1.Inference' (use allowMethod for 'Service/Method')");
      }
      services.computeIfAbsent(service, k -> EnumSet.noneOf(Role.class)).addAll(roles(first, more));
      return this;
    }

    /**
     * Lets the roles call one method, {@code package.Service/Method}. This entry replaces the
     * service's entry for that method, so it can narrow as well as widen access.
     *
     * @throws IllegalArgumentException when the name is not {@code Service/Method}
     */
    public Builder allowMethod(String fullMethodName, Role first, Role... more) {
      requireNonNull(fullMethodName, "fullMethodName");
      int slash = fullMethodName.indexOf('/');
      if (slash <= 0 || slash == fullMethodName.length() - 1 || fullMethodName.indexOf('/', slash + 1) >= 0
          || fullMethodName.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException("method '" + fullMethodName + "' must be a full method name"
            + " such as 'infermesh.v1.Inference/Generate'");
      }
      methods.computeIfAbsent(fullMethodName, k -> EnumSet.noneOf(Role.class)).addAll(roles(first, more));
      return this;
    }

    private static EnumSet<Role> roles(Role first, Role... more) {
      requireNonNull(first, "first");
      requireNonNull(more, "more");
      for (Role role : more) {
        requireNonNull(role, "more[]");
      }
      return EnumSet.of(first, more);
    }

    public RoleAuthorizationPolicy build() {
      return new RoleAuthorizationPolicy(this);
    }
  }
}
