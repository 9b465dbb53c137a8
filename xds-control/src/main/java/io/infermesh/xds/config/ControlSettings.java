package io.infermesh.xds.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How the control plane process itself runs ({@code control:} in {@code mesh.yaml}). Built with
 * {@link #builder()}; validated when built, a broken rule names its key ({@code control.xds.port}).
 *
 * @param xdsAddress bind address of the ADS/SDS gRPC server
 * @param xdsPort its port (0 = pick one), default 18000
 * @param plaintext serve xDS without TLS; only allowed on a loopback address (tests, demos)
 * @param adminAddress bind address of the admin HTTP endpoint
 * @param adminPort its port (0 = pick one), default 18080; -1 disables it
 * @param credentials directory and name of this process's mesh identity (role control), for mTLS
 * @param gatewayCertificates where each gateway's own certificate and key ({@code <name>.crt},
 *     {@code <name>.key}, issued ahead with {@code infermesh certs issue --role gateway}) and the
 *     trust bundle {@code ca.crt} are, for SDS; empty means the credentials directory. The
 *     control plane holds no CA key: it serves these files, each only to its own gateway
 * @param refreshInterval how often burst state is re-evaluated and snapshots republished
 */
public record ControlSettings(
    String xdsAddress,
    int xdsPort,
    boolean plaintext,
    String adminAddress,
    int adminPort,
    Optional<Credentials> credentials,
    Optional<Path> gatewayCertificates,
    Duration refreshInterval) {
  public static final String DEFAULT_XDS_ADDRESS = "0.0.0.0";
  public static final int DEFAULT_XDS_PORT = 18_000;
  public static final String DEFAULT_ADMIN_ADDRESS = "127.0.0.1";
  public static final int DEFAULT_ADMIN_PORT = 18_080;
  public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(1);

  public ControlSettings {
    requireNonNull(xdsAddress, "xdsAddress");
    requireNonNull(adminAddress, "adminAddress");
    requireNonNull(credentials, "credentials");
    requireNonNull(gatewayCertificates, "gatewayCertificates");
    requireNonNull(refreshInterval, "refreshInterval");
    if (xdsPort < 0 || xdsPort > 65_535) {
      throw new ConfigException("control.xds.port", "must be 0..65535, got " + xdsPort);
    }
    if (adminPort < -1 || adminPort > 65_535) {
      throw new ConfigException("control.admin.port", "must be -1 (off) or 0..65535, got " + adminPort);
    }
    if (plaintext && !isLoopback(xdsAddress)) {
      throw new ConfigException("control.xds.plaintext", "is only allowed on a loopback address, "
          + "but control.xds.address is " + xdsAddress + "; configure control.credentials for mTLS");
    }
    if (!plaintext && credentials.isEmpty()) {
      throw new ConfigException("control.credentials",
          "is required (xDS is served over mTLS) unless control.xds.plaintext is true on loopback");
    }
    if (refreshInterval.isNegative() || refreshInterval.isZero()) {
      throw new ConfigException("control.refresh_interval", "must be positive, got " + refreshInterval);
    }
  }

  /** Settings at the defaults named on each {@link Builder} method; mTLS needs {@link Builder#credentials}. */
  public static Builder builder() {
    return new Builder();
  }

  /** Whether {@code address} names this host only (127.0.0.0/8, ::1, localhost). */
  public static boolean isLoopback(String address) {
    return address.equals("localhost") || address.startsWith("127.") || address.equals("::1")
        || address.equals("[::1]");
  }

  /** Loopback plaintext xDS on a free port, admin on a free port; for tests. */
  public static ControlSettings loopbackForTests() {
    return builder().xds("127.0.0.1", 0).plaintext(true).admin("127.0.0.1", 0)
        .refreshInterval(Duration.ofMillis(200)).build();
  }

  /** A builder holding these settings. */
  public Builder toBuilder() {
    Builder b = builder().xds(xdsAddress, xdsPort).plaintext(plaintext).admin(adminAddress, adminPort)
        .refreshInterval(refreshInterval);
    credentials.ifPresent(b::credentials);
    gatewayCertificates.ifPresent(b::gatewayCertificates);
    return b;
  }

  public ControlSettings withXdsPort(int port) {
    return toBuilder().xds(xdsAddress, port).build();
  }

  public ControlSettings withAdminPort(int port) {
    return toBuilder().admin(adminAddress, port).build();
  }

  /** The directory SDS identities are read from: {@code gateway_certificates}, else the credentials'. */
  public Optional<Path> gatewayCertificateDirectory() {
    return gatewayCertificates.or(() -> credentials.map(Credentials::directory));
  }

  /** Where this process's certificate chain, key and the trust bundle are. */
  public record Credentials(Path directory, String name) {
    public Credentials {
      requireNonNull(directory, "directory");
      requireNonNull(name, "name");
      if (name.isBlank()) {
        throw new ConfigException("control.credentials.name", "must not be blank");
      }
    }
  }

  /** Configures {@link ControlSettings}; {@link #build()} checks the rules. Not thread-safe. */
  public static final class Builder {
    private String xdsAddress = DEFAULT_XDS_ADDRESS;
    private int xdsPort = DEFAULT_XDS_PORT;
    private boolean plaintext;
    private String adminAddress = DEFAULT_ADMIN_ADDRESS;
    private int adminPort = DEFAULT_ADMIN_PORT;
    private Optional<Credentials> credentials = Optional.empty();
    private Optional<Path> gatewayCertificates = Optional.empty();
    private Duration refreshInterval = DEFAULT_REFRESH_INTERVAL;

    private Builder() {}

    /** Where the ADS/SDS server listens; default {@code 0.0.0.0:18000}. */
    public Builder xds(String address, int port) {
      this.xdsAddress = requireNonNull(address, "address");
      this.xdsPort = port;
      return this;
    }

    /** Serve xDS without TLS (loopback only); default false. */
    public Builder plaintext(boolean plaintext) {
      this.plaintext = plaintext;
      return this;
    }

    /** Where the admin HTTP endpoint listens; default {@code 127.0.0.1:18080}, port -1 turns it off. */
    public Builder admin(String address, int port) {
      this.adminAddress = requireNonNull(address, "address");
      this.adminPort = port;
      return this;
    }

    /** This process's mesh identity; required unless plaintext. */
    public Builder credentials(Credentials credentials) {
      this.credentials = Optional.of(requireNonNull(credentials, "credentials"));
      return this;
    }

    /** Where the gateways' certificates are; default the credentials' directory. */
    public Builder gatewayCertificates(Path directory) {
      this.gatewayCertificates = Optional.of(requireNonNull(directory, "directory"));
      return this;
    }

    /** Burst re-evaluation and republish tick; default 1s. */
    public Builder refreshInterval(Duration refreshInterval) {
      this.refreshInterval = requireNonNull(refreshInterval, "refreshInterval");
      return this;
    }

    /** @throws ConfigException naming the first key whose value breaks its rule */
    public ControlSettings build() {
      return new ControlSettings(xdsAddress, xdsPort, plaintext, adminAddress, adminPort, credentials,
          gatewayCertificates, refreshInterval);
    }
  }
}
