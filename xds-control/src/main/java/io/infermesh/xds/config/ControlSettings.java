package io.infermesh.xds.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How the control plane process itself runs ({@code control:} in {@code mesh.yaml}).
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

  public ControlSettings {
    requireNonNull(xdsAddress, "xdsAddress");
    requireNonNull(adminAddress, "adminAddress");
    requireNonNull(credentials, "credentials");
    requireNonNull(gatewayCertificates, "gatewayCertificates");
    requireNonNull(refreshInterval, "refreshInterval");
    if (xdsPort < 0 || xdsPort > 65_535) {
      throw new IllegalArgumentException("control.xds.port must be 0..65535, was " + xdsPort);
    }
    if (adminPort < -1 || adminPort > 65_535) {
      throw new IllegalArgumentException("control.admin.port must be -1 (off) or 0..65535, was " + adminPort);
    }
    if (plaintext && !isLoopback(xdsAddress)) {
      throw new IllegalArgumentException("control.xds.plaintext is only allowed on a loopback address, "
          + "but control.xds.address is " + xdsAddress + "; configure control.credentials for mTLS");
    }
    if (!plaintext && credentials.isEmpty()) {
      throw new IllegalArgumentException(
          "control.credentials is required (xDS is served over mTLS) unless control.xds.plaintext is true on loopback");
    }
    if (refreshInterval.isNegative() || refreshInterval.isZero()) {
      throw new IllegalArgumentException("control.refresh_interval must be positive, was " + refreshInterval);
    }
  }

  /** Whether {@code address} names this host only (127.0.0.0/8, ::1, localhost). */
  public static boolean isLoopback(String address) {
    return address.equals("localhost") || address.startsWith("127.") || address.equals("::1")
        || address.equals("[::1]");
  }

  /** Loopback plaintext xDS on a free port, admin on a free port; for tests. */
  public static ControlSettings loopbackForTests() {
    return new ControlSettings("127.0.0.1", 0, true, "127.0.0.1", 0, Optional.empty(), Optional.empty(),
        Duration.ofMillis(200));
  }

  public ControlSettings withXdsPort(int port) {
    return new ControlSettings(xdsAddress, port, plaintext, adminAddress, adminPort, credentials,
        gatewayCertificates, refreshInterval);
  }

  public ControlSettings withAdminPort(int port) {
    return new ControlSettings(xdsAddress, xdsPort, plaintext, adminAddress, port, credentials,
        gatewayCertificates, refreshInterval);
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
        throw new IllegalArgumentException("control.credentials.name must not be blank");
      }
    }
  }
}
