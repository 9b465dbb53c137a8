package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What a mesh process is, as carried in the third segment of its SPIFFE ID
 * ({@code spiffe://<trust-domain>/<region>/<role>/<name>}). Servers authorize calls by role.
 */
public enum Role {
  /** An edge agent: serves apps locally and escalates to the core. */
  EDGE,
  /** A core-cluster node: serves escalated requests and pipeline stages. */
  CORE,
  /** The xDS control plane. */
  CONTROL,
  /** An ingress gateway (for example Envoy) that forwards app traffic into the mesh. */
  GATEWAY,
  /** A person or tool administering the mesh. */
  OPERATOR;

  /** The lower-case name used in SPIFFE IDs and on the command line, e.g. {@code edge}. */
  public String pathName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses a role name, ignoring case and surrounding blanks.
   *
   * @throws IllegalArgumentException naming the valid roles when {@code text} is not one of them
   */
  public static Role parse(String text) {
    requireNonNull(text, "text");
    String wanted = text.strip();
    for (Role role : values()) {
      if (role.pathName().equalsIgnoreCase(wanted)) {
        return role;
      }
    }
    throw new IllegalArgumentException(
        "unknown role '" + text + "': expected one of " + validNames());
  }

  /** The valid role names, comma-separated, for messages and help texts. */
  public static String validNames() {
    return Arrays.stream(values()).map(Role::pathName).collect(Collectors.joining(", "));
  }

  @Override
  public String toString() {
    return pathName();
  }
}
