package io.infermesh.cli;

import static java.util.Objects.requireNonNull;

import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.Role;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.server.CoreNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.config.Routing;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole local mesh in this JVM, as {@code infermesh up} runs it: a CA and certificates under
 * {@code <dir>/pki} (the CA is created once and reused; leaves are re-issued each start), the
 * tiny models under {@code <dir>/models} (unless real ones are given), one core node on loopback
 * mTLS gRPC and one edge agent escalating to it. Also the fixture of the whole-mesh tests, which
 * stop and restart the core. Not thread-safe: start, restart and close from one thread.
 */
final class MeshUp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MeshUp.class);
  static final String TRUST_DOMAIN = "infermesh.local";
  static final String REGION = "local";
  static final int EDGE_CONTEXT = 512;

  /**
   * What to run.
   *
   * @param dir the state directory
   * @param httpPort the edge's HTTP port (0 picks one)
   * @param corePort the core's gRPC port (0 picks one; a restart reuses the port it got)
   * @param edgeModel a GGUF file for the edge, or empty for the tiny one
   * @param coreModel a GGUF file or HF checkpoint for the core, or empty for the tiny one
   * @param routing the edge's routing settings
   * @param escalationTimeout the deadline of an escalated call
   */
  record Options(Path dir, int httpPort, int corePort, Optional<Path> edgeModel, Optional<Path> coreModel,
      Routing routing, Duration escalationTimeout) {
    Options {
      requireNonNull(dir, "dir");
      requireNonNull(edgeModel, "edgeModel");
      requireNonNull(coreModel, "coreModel");
      requireNonNull(routing, "routing");
      requireNonNull(escalationTimeout, "escalationTimeout");
    }

    static Options defaults(Path dir) {
      return new Options(dir, 8080, 0, Optional.empty(), Optional.empty(), Routing.DEFAULT, Duration.ofSeconds(60));
    }
  }

  private final Options options;
  private final Path pki;
  private final CertificateAuthority ca;
  private final Path edgeModel;
  private final Path coreModel;
  private CoreNode core;
  private int corePort;
  private EdgeAgent edge;

  private MeshUp(Options options, Path pki, CertificateAuthority ca, Path edgeModel, Path coreModel) {
    this.options = options;
    this.pki = pki;
    this.ca = ca;
    this.edgeModel = edgeModel;
    this.coreModel = coreModel;
    this.corePort = options.corePort();
  }

  /** Prepares the state directory and starts the core, then the edge; waits until both are ready. */
  static MeshUp start(Options options) throws Exception {
    Path dir = options.dir().toAbsolutePath().normalize();
    Path pki = dir.resolve("pki");
    CertificateAuthority ca = certificateAuthority(pki.resolve("ca"));
    for (var leaf : List.of(new Object[] {Role.CORE, "core-0"}, new Object[] {Role.EDGE, "edge-0"})) {
      ca.issue(LeafRequest.builder((Role) leaf[0], REGION, (String) leaf[1]).dnsName("localhost")
          .ipAddress("127.0.0.1").validity(Duration.ofDays(30)).build()).writeTo(pki.resolve("certs"), true);
    }
    Path models = dir.resolve("models");
    Path edgeModel = options.edgeModel().isPresent() ? options.edgeModel().get()
        : TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), models);
    Path coreModel = options.coreModel().isPresent() ? options.coreModel().get()
        : TinyModels.write(TinyModelSpec.core(GgmlType.F32), models);
    MeshUp mesh = new MeshUp(options, pki, ca, edgeModel, coreModel);
    try {
      mesh.startCore();
      mesh.startEdge();
    } catch (Exception e) {
      mesh.close();
      throw e;
    }
    return mesh;
  }

  private static CertificateAuthority certificateAuthority(Path caDir) throws IOException {
    if (Files.exists(caDir.resolve(CertificateAuthority.CERTIFICATE_FILE))) {
      return CertificateAuthority.load(caDir, Clock.systemUTC());
    }
    CertificateAuthority ca = CertificateAuthority.create(TRUST_DOMAIN, CertificateAuthority.DEFAULT_VALIDITY,
        Clock.systemUTC());
    ca.writeTo(caDir, false);
    log.info("created the mesh CA for {} in {}", TRUST_DOMAIN, caDir);
    return ca;
  }

  /** Starts (or restarts) the core on the port it had, and loads its model. */
  void startCore() throws IOException {
    if (core != null) {
      throw new IllegalStateException("the core is running");
    }
    CoreConfig config = new CoreConfig(new CoreConfig.Node("core-0", REGION), corePort,
        new CoreConfig.Tls(pki.resolve("certs"), "core-0"),
        new CoreConfig.Model("tiny-core", coreModel, "", "", "cpu", 64),
        CoreConfig.Engine.builtin(), CoreConfig.Scheduling.defaults(), CoreConfig.Stage.single(), -1);
    CoreNode started = CoreNode.start(config);
    try {
      started.loadConfiguredModel();
    } catch (IOException | RuntimeException e) {
      started.close();
      throw e;
    }
    core = started;
    corePort = started.port();
  }

  /** Stops the core (the edge notices through its channel and circuit breaker). */
  void stopCore() {
    if (core != null) {
      core.close();
      core = null;
    }
  }

  private void startEdge() throws Exception {
    Escalation escalation = Escalation.NONE.withTarget("127.0.0.1:" + corePort, pki.resolve("certs"), "edge-0");
    escalation = new Escalation(escalation.target(), escalation.tlsDir(), escalation.tlsName(),
        options.escalationTimeout(), escalation.maxAttempts(), escalation.failureRate(), escalation.window(),
        Duration.ofSeconds(2), true);
    EdgeConfig.Model m = EdgeConfig.Model.DEFAULT;
    EdgeConfig config = EdgeConfig.defaults()
        .withModel(new EdgeConfig.Model(edgeModel, m.name(), m.sha256(), EDGE_CONTEXT, 1, 2, m.chatTemplate(), 64))
        .withHttpPort(options.httpPort())
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)))
        .withAdmission(new EdgeConfig.Admission(256, Duration.ofSeconds(1), Duration.ofMinutes(2)))
        .withEscalation(escalation)
        .withRouting(options.routing());
    edge = EdgeAgent.builder(config).start();
    edge.awaitModel(Duration.ofMinutes(5));
  }

  CoreNode core() {
    return core;
  }

  int corePort() {
    return corePort;
  }

  EdgeAgent edge() {
    return edge;
  }

  Path edgeModel() {
    return edgeModel;
  }

  Path coreModel() {
    return coreModel;
  }

  /** The directory with every process's certificate, key and the CA bundle. */
  Path certificates() {
    return pki.resolve("certs");
  }

  CertificateAuthority ca() {
    return ca;
  }

  /** Stops the edge first (it drains, finishing what the core sends), then the core. */
  @Override
  public void close() {
    if (edge != null) {
      edge.close();
      edge = null;
    }
    stopCore();
  }
}
