package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What to put in a leaf certificate: the identity (region, role, name — the trust domain comes
 * from the CA), optional DNS and IP subject alternative names, and the validity. Immutable; build
 * with {@link #builder(Role, String, String)}.
 */
public final class LeafRequest {
  /** The validity of a leaf when none is set: 90 days. */
  public static final Duration DEFAULT_VALIDITY = Duration.ofDays(90);

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final Pattern IPV4 =
      Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

  private final Role role;
  private final String region;
  private final String name;
  private final List<String> dnsNames;
  private final List<InetAddress> ipAddresses;
  private final Duration validity;

  private LeafRequest(Builder builder) {
    this.role = builder.role;
    this.region = builder.region;
    this.name = builder.name;
    this.dnsNames = List.copyOf(builder.dnsNames);
    this.ipAddresses = List.copyOf(builder.ipAddresses);
    this.validity = builder.validity;
  }

  /**
   * Starts a request for {@code spiffe://<ca trust domain>/<region>/<role>/<name>}.
   *
   * @throws IllegalArgumentException when region or name is not a lower-case DNS label
   */
  public static Builder builder(Role role, String region, String name) {
    return new Builder(role, region, name);
  }

  public Role role() {
    return role;
  }

  public String region() {
    return region;
  }

  public String name() {
    return name;
  }

  /** DNS subject alternative names, in the order added, without duplicates. */
  public List<String> dnsNames() {
    return dnsNames;
  }

  /** IP subject alternative names, in the order added, without duplicates. */
  public List<InetAddress> ipAddresses() {
    return ipAddresses;
  }

  public Duration validity() {
    return validity;
  }

  /** The identity this request asks for within {@code trustDomain}. */
  public SpiffeId spiffeId(String trustDomain) {
    return new SpiffeId(trustDomain, region, role, name);
  }

  @Override
  public String toString() {
    return "LeafRequest{" + region + "/" + role + "/" + name + ", dns=" + dnsNames + ", ip="
        + ipAddresses.stream().map(InetAddress::getHostAddress).toList() + ", validity=" + validity + "}";
  }

  /** Collects a {@link LeafRequest}; every setter validates at once. Not thread-safe. */
  public static final class Builder {
    private final Role role;
    private final String region;
    private final String name;
    private final LinkedHashSet<String> dnsNames = new LinkedHashSet<>();
    private final LinkedHashSet<InetAddress> ipAddresses = new LinkedHashSet<>();
    private Duration validity = DEFAULT_VALIDITY;

    private Builder(Role role, String region, String name) {
      this.role = requireNonNull(role, "role");
      this.region = SpiffeId.requireValidLabel("region", region);
      this.name = SpiffeId.requireValidLabel("name", name);
    }

    /**
     * Adds a DNS subject alternative name, e.g. {@code core-0.mesh.local} or
     * {@code *.core.mesh.local} (a wildcard only as the whole first label). Upper case is folded.
     */
    public Builder dnsName(String dnsName) {
      requireNonNull(dnsName, "dnsName");
      String lower = dnsName.strip().toLowerCase(Locale.ROOT);
      if (lower.endsWith(".")) {
        lower = lower.substring(0, lower.length() - 1);
      }
      boolean valid = !lower.isEmpty() && lower.length() <= 253;
      String[] labels = lower.split("\\.", -1);
      for (int i = 0; valid && i < labels.length; i++) {
        boolean wildcard = i == 0 && labels.length > 1 && labels[i].equals("*");
        valid = wildcard || DNS_LABEL.matcher(labels[i]).matches();
      }
      if (!valid) {
        throw new IllegalArgumentException(
            "DNS name '" + dnsName + "' is invalid: use letters, digits, '-' and '.', like"
                + " 'core-0.mesh.local' (a leading '*.' is allowed)");
      }
      dnsNames.add(lower);
      return this;
    }

    /**
     * Adds an IP subject alternative name given as a literal ({@code 10.0.0.7}, {@code ::1}).
     * Host names are refused, never resolved.
     */
    public Builder ipAddress(String ipAddress) {
      requireNonNull(ipAddress, "ipAddress");
      String literal = ipAddress.strip();
      String problem = "IP address '" + ipAddress + "' is invalid: give an IPv4 or IPv6 literal such"
          + " as 10.0.0.7 or fd00::7 (use --dns for host names)";
      boolean v4 = IPV4.matcher(literal).matches();
      boolean v6 = !v4 && literal.indexOf(':') >= 0 && literal.matches("[0-9a-fA-F:.]+");
      if (!v4 && !v6) {
        throw new IllegalArgumentException(problem);
      }
      try {
        // A literal (checked above) is parsed, never looked up.
        ipAddresses.add(InetAddress.getByName(literal));
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException(problem, e);
      }
      return this;
    }

    /** Adds an IP subject alternative name. */
    public Builder ipAddress(InetAddress ipAddress) {
      ipAddresses.add(requireNonNull(ipAddress, "ipAddress"));
      return this;
    }

    /**
     * How long the certificate is valid from now ({@link #DEFAULT_VALIDITY} when not set).
     *
     * @throws IllegalArgumentException when not positive
     */
    public Builder validity(Duration validity) {
      this.validity = Durations.requirePositive(validity, "validity");
      return this;
    }

    public LeafRequest build() {
      return new LeafRequest(this);
    }
  }
}
