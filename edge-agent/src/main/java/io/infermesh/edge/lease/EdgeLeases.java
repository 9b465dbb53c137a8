package io.infermesh.edge.lease;

import static java.util.Objects.requireNonNull;

import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshSignatures;
import io.infermesh.certs.MeshTls;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.config.Leases;
import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An edge's leases, assembled from its config ({@code leases:}): the wallet in {@code leases.file},
 * verified against the mesh CA of the escalation identity ({@code escalation.tls}, the identity the
 * core binds leases to), kept in step with the core by a {@link LeaseSync} on a daemon thread of
 * its own. The core it leases from is the escalation target's first address (leases live in that
 * core's memory; with an {@code xds:///} target, whichever core the channel picks). Closing stops
 * the sync; the wallet needs no closing (every change is already on disk).
 */
public final class EdgeLeases implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EdgeLeases.class);
  /** The tenant of requests without credentials, as the edge and the core name it. */
  static final String DEFAULT_TENANT = "default";

  private final LeaseWallet wallet;
  private final LeaseSync sync;
  private final MeshTls tls;
  private final ScheduledExecutorService scheduler;

  private EdgeLeases(LeaseWallet wallet, LeaseSync sync, MeshTls tls, ScheduledExecutorService scheduler) {
    this.wallet = wallet;
    this.sync = sync;
    this.tls = tls;
    this.scheduler = scheduler;
  }

  /**
   * Opens the wallet and starts syncing, per {@code config.leases()} (which must be enabled).
   *
   * @throws IOException when the identity or the wallet file cannot be read
   */
  public static EdgeLeases start(EdgeConfig config, Clock clock) throws IOException {
    requireNonNull(config, "config");
    Leases leases = config.leases();
    if (!leases.enabled()) {
      throw new IllegalArgumentException("leases.enabled is false");
    }
    Escalation escalation = config.escalation();
    MeshTls tls = MeshTls.builder(MeshCredentialFiles.in(escalation.tlsDir(), escalation.tlsName())).build();
    LeaseWallet wallet;
    LeaseVerifier verifier;
    try {
      verifier = LeaseVerifier.of(MeshSignatures.verifier(tls.files().trustBundle()), tls.identity());
      wallet = LeaseWallet.open(leases.file().orElseThrow(), verifier, clock);
    } catch (IOException | RuntimeException e) {
      tls.close();
      throw new IOException("leases.file: " + e.getMessage(), e);
    }
    List<String> tenants = tenants(config);
    String target = escalation.target().orElseThrow().split(",")[0].trim();
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "edge-leases");
      t.setDaemon(true);
      return t;
    });
    LeaseSync sync = LeaseSync.start(leases, tenants, wallet, verifier, target, tls, scheduler, clock);
    log.info("leases for tenants {} from the core at {}, wallet {} ({} leases held)", tenants, target,
        leases.file().orElseThrow(), wallet.leaseIds().size());
    return new EdgeLeases(wallet, sync, tls, scheduler);
  }

  /** {@code leases.tenants}; else every {@code auth.tenants} name; else the default tenant. */
  static List<String> tenants(EdgeConfig config) {
    if (!config.leases().tenants().isEmpty()) {
      return config.leases().tenants();
    }
    List<String> named = config.auth().tenants().stream().map(EdgeConfig.Tenant::name).toList();
    return named.isEmpty() ? List.of(DEFAULT_TENANT) : named;
  }

  public LeaseWallet wallet() {
    return wallet;
  }

  /** Reports and renews now (tests; an operator's nudge), returning when done. */
  public void syncNow() throws InterruptedException {
    sync.syncNow();
  }

  @Override
  public void close() {
    sync.close();
    scheduler.shutdownNow();
    tls.close();
  }
}
