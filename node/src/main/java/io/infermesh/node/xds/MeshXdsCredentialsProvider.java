package io.infermesh.node.xds;

import io.grpc.ChannelCredentials;
import io.grpc.xds.XdsCredentialsProvider;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * grpc-xds channel credentials of type {@value #NAME}: mutual TLS to the control plane with this
 * process's mesh identity, for proxyless clients (edge agents). grpc-xds finds this class with
 * {@code java.util.ServiceLoader} ({@code META-INF/services/io.grpc.xds.XdsCredentialsProvider})
 * when it reads the bootstrap's {@code channel_creds}; {@link ProxylessBootstrap} writes:
 *
 * <pre>
 * "channel_creds": [{"type": "infermesh_mtls", "config": {
 *     "certificate_file": "certs/edge-1.crt", "private_key_file": "certs/edge-1.key",
 *     "ca_certificate_file": "certs/ca.crt", "refresh_interval": "60s"}}]
 * </pre>
 *
 * (the key names of gRFC A65's {@code tls} creds, which grpc-xds 1.85.1 parses but ignores). The
 * credentials are certs' {@link MeshTls}: the files are re-read every {@code refresh_interval}
 * (default {@link MeshTls#DEFAULT_REFRESH_PERIOD}), so a rotated certificate is used by the next
 * connection; the control plane must present a SPIFFE ID of this trust domain with role
 * {@code control} (host names are not checked, so {@code server_uri} may be an address).
 *
 * <p>One {@link MeshTls} is kept per set of files for the life of the JVM (grpc-xds reads its
 * bootstrap once per JVM and keeps its xDS channel). A config that names no files, or files that
 * cannot be loaded, is logged and answered with {@code null}: grpc-xds then fails the bootstrap
 * ("no supported channel credentials found") rather than connecting without the mesh identity.
 * Thread-safe.
 */
public final class MeshXdsCredentialsProvider extends XdsCredentialsProvider {
  /** The {@code channel_creds} type this provider answers. */
  public static final String NAME = "infermesh_mtls";

  private static final Logger log = LoggerFactory.getLogger(MeshXdsCredentialsProvider.class);
  private final Map<MeshCredentialFiles, MeshTls> loaded = new ConcurrentHashMap<>();

  /** Called by {@code ServiceLoader}. */
  public MeshXdsCredentialsProvider() {}

  @Override
  protected ChannelCredentials newChannelCredentials(Map<String, ?> jsonConfig) {
    try {
      MeshCredentialFiles files = new MeshCredentialFiles(
          path(jsonConfig, "certificate_file"), path(jsonConfig, "private_key_file"),
          path(jsonConfig, "ca_certificate_file"));
      Duration refresh = refreshInterval(jsonConfig.get("refresh_interval"));
      MeshTls tls = loaded.computeIfAbsent(files, f -> load(f, refresh));
      return tls.channelCredentials(ExpectedIdentity.roles(Role.CONTROL));
    } catch (IllegalArgumentException | IllegalStateException e) {
      log.error("xds bootstrap: {} channel creds unusable: {}", NAME, e.getMessage());
      return null;
    }
  }

  private static MeshTls load(MeshCredentialFiles files, Duration refresh) {
    try {
      MeshTls tls = MeshTls.builder(files).refreshPeriod(refresh).build();
      log.info("xds: connecting to the control plane over mTLS as {}", tls.identity());
      return tls;
    } catch (IOException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  private static Path path(Map<String, ?> config, String key) {
    Object value = config.get(key);
    if (!(value instanceof String s) || s.isBlank()) {
      throw new IllegalArgumentException("config." + key + " must name a PEM file, got " + value);
    }
    return Path.of(s);
  }

  /** A protobuf JSON duration ({@code "60s"}, {@code "1.5s"}); absent = the default. */
  static Duration refreshInterval(Object value) {
    if (value == null) {
      return MeshTls.DEFAULT_REFRESH_PERIOD;
    }
    if (!(value instanceof String s) || !s.matches("\\d+(\\.\\d{1,9})?s")) {
      throw new IllegalArgumentException("config.refresh_interval must be a duration like \"60s\", got " + value);
    }
    BigDecimal seconds = new BigDecimal(s.substring(0, s.length() - 1));
    Duration d = Duration.ofNanos(seconds.movePointRight(9).longValueExact());
    if (d.isZero()) {
      throw new IllegalArgumentException("config.refresh_interval must be positive, got " + value);
    }
    return d;
  }

  @Override
  protected String getName() {
    return NAME;
  }

  @Override
  public boolean isAvailable() {
    return true;
  }

  @Override
  public int priority() {
    return 5; // grpc's default priority; no other provider answers this name
  }
}
