package io.infermesh.xds.signer;

import static java.util.Objects.requireNonNull;

import io.infermesh.api.v1.CertificateSignerGrpc;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.DenyList;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshServer;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.RenewalSigner;
import io.infermesh.certs.Role;
import io.infermesh.certs.RoleAuthorizationPolicy;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The certificate signer: the one process that holds the mesh CA key, serving {@code
 * infermesh.v1.CertificateSigner} over mutual TLS so devices renew their short-lived
 * certificates without the CA key on every box.
 *
 * <p>It runs beside the control plane, not inside it: the xDS server is reached by every Envoy
 * and proxyless client and talks to Consul, and a flaw there should not mint identities. The
 * signer's server presents its own mesh identity (role {@code control}, e.g. {@code
 * spiffe://mesh.local/eu-west/control/signer}), serves nothing but {@code CertificateSigner}
 * (plus health and reflection), to the {@linkplain Settings.Builder#allowedRoles allowed roles}
 * only (default: edge), and refuses a caller on the deny list both at authorization and at
 * renewal. Thread-safe; {@link #close()} stops serving and stops re-reading the deny list.
 */
public final class SignerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SignerServer.class);

  private final MeshServer server;
  private final DenyList denyList;

  private SignerServer(MeshServer server, DenyList denyList) {
    this.server = server;
    this.denyList = denyList;
  }

  /**
   * Loads the CA and the signer's identity, reads the deny list and starts serving.
   *
   * @throws IOException naming the file when the CA, the identity or the deny list is unusable,
   *     or when the port cannot be bound
   */
  public static SignerServer start(Settings settings) throws IOException {
    requireNonNull(settings, "settings");
    CertificateAuthority ca = CertificateAuthority.load(settings.caDirectory(), settings.clock());
    DenyList denyList = settings.denyList().isPresent()
        ? DenyList.watching(settings.denyList().get(), settings.denyListRefresh())
        : DenyList.empty();
    try {
      Role first = settings.allowedRoles().iterator().next();
      Role[] more = settings.allowedRoles().stream().skip(1).toArray(Role[]::new);
      MeshServer server = MeshServer.builder(settings.port())
          .bindAddress(settings.bindAddress())
          .credentials(settings.identity())
          .refreshPeriod(settings.identityRefresh())
          .authorization(RoleAuthorizationPolicy.builder().allow(CertificateSignerGrpc.SERVICE_NAME, first, more)
              .build())
          .denyList(denyList)
          .addService(new CertificateSignerService(RenewalSigner.of(ca, settings.validity(), denyList)))
          .start();
      if (!server.identity().trustDomain().equals(ca.trustDomain())) {
        server.close();
        throw new IOException(settings.identity().certificateChain() + ": the signer's identity " + server.identity()
            + " is not in the CA's trust domain " + ca.trustDomain());
      }
      log.info("signing renewals for roles {} with {}: certificates valid for {}, deny list {}",
          settings.allowedRoles(), ca, settings.validity(), denyList);
      return new SignerServer(server, denyList);
    } catch (IOException | RuntimeException e) {
      denyList.close();
      throw e;
    }
  }

  /** The port served (the chosen one when started on port 0). */
  public int port() {
    return server.port();
  }

  /** The address served. */
  public InetSocketAddress address() {
    return server.address();
  }

  /** Blocks until the server stops. */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() {
    server.close();
    denyList.close();
  }

  /**
   * What the signer needs; build with {@link #builder(Path, MeshCredentialFiles)}.
   *
   * @param caDirectory holds {@code ca.crt} and {@code ca.key}
   * @param identity the signer's own mesh certificate, key and trust bundle
   * @param port the gRPC port (0 picks one)
   * @param bindAddress the address to bind ({@code 0.0.0.0}: every interface)
   * @param validity how long a renewed certificate is valid
   * @param denyList the deny list file, if any
   * @param denyListRefresh how often the deny list is re-read
   * @param identityRefresh how often the signer's own credential files are re-read
   * @param allowedRoles the roles that may renew (not empty)
   * @param clock the CA's clock
   */
  public record Settings(Path caDirectory, MeshCredentialFiles identity, int port, String bindAddress,
      Duration validity, Optional<Path> denyList, Duration denyListRefresh, Duration identityRefresh,
      Set<Role> allowedRoles, Clock clock) {
    /** The port when none is given. */
    public static final int DEFAULT_PORT = 18443;
    /** The validity of a renewed certificate when none is given. */
    public static final Duration DEFAULT_VALIDITY = Duration.ofHours(24);

    public Settings {
      requireNonNull(caDirectory, "caDirectory");
      requireNonNull(identity, "identity");
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
      }
      requireNonNull(bindAddress, "bindAddress");
      requirePositive(validity, "validity");
      requireNonNull(denyList, "denyList");
      requirePositive(denyListRefresh, "deny list refresh");
      requirePositive(identityRefresh, "identity refresh");
      if (allowedRoles == null || allowedRoles.isEmpty()) {
        throw new IllegalArgumentException("allowed roles must name at least one role");
      }
      allowedRoles = Set.copyOf(allowedRoles);
      requireNonNull(clock, "clock");
    }

    private static void requirePositive(Duration value, String name) {
      requireNonNull(value, name);
      if (value.isZero() || value.isNegative()) {
        throw new IllegalArgumentException(name + " must be positive, got " + value);
      }
    }

    /** Settings with defaults for everything but the CA and the signer's identity. */
    public static Builder builder(Path caDirectory, MeshCredentialFiles identity) {
      return new Builder(caDirectory, identity);
    }

    /** Collects {@link Settings}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
      private final Path caDirectory;
      private final MeshCredentialFiles identity;
      private int port = DEFAULT_PORT;
      private String bindAddress = "0.0.0.0";
      private Duration validity = DEFAULT_VALIDITY;
      private Path denyList;
      private Duration denyListRefresh = DenyList.DEFAULT_REFRESH_PERIOD;
      private Duration identityRefresh = MeshTls.DEFAULT_REFRESH_PERIOD;
      private Set<Role> allowedRoles = EnumSet.of(Role.EDGE);
      private Clock clock = Clock.systemUTC();

      private Builder(Path caDirectory, MeshCredentialFiles identity) {
        this.caDirectory = caDirectory;
        this.identity = identity;
      }

      /** The gRPC port; default {@value Settings#DEFAULT_PORT}, 0 picks one. */
      public Builder port(int port) {
        this.port = port;
        return this;
      }

      /** The bind address; default every interface. */
      public Builder bindAddress(String bindAddress) {
        this.bindAddress = bindAddress;
        return this;
      }

      /** How long renewed certificates are valid; default 24h. */
      public Builder validity(Duration validity) {
        this.validity = validity;
        return this;
      }

      /** The deny list file and how often it is re-read (default {@link DenyList#DEFAULT_REFRESH_PERIOD}). */
      public Builder denyList(Path file, Duration refresh) {
        this.denyList = requireNonNull(file, "file");
        this.denyListRefresh = refresh;
        return this;
      }

      /** How often the signer's own credential files are re-read; default {@link MeshTls#DEFAULT_REFRESH_PERIOD}. */
      public Builder identityRefresh(Duration refresh) {
        this.identityRefresh = refresh;
        return this;
      }

      /** The roles that may renew; default edge only. */
      public Builder allowedRoles(Set<Role> roles) {
        this.allowedRoles = roles;
        return this;
      }

      /** The CA's clock; default the UTC system clock. */
      public Builder clock(Clock clock) {
        this.clock = clock;
        return this;
      }

      public Settings build() {
        return new Settings(caDirectory, identity, port, bindAddress, validity, Optional.ofNullable(denyList),
            denyListRefresh, identityRefresh, allowedRoles, clock);
      }
    }
  }
}
