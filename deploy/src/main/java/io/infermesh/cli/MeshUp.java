package io.infermesh.cli;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.grpc.ServerInterceptor;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.CoreConfigLoader;
import io.infermesh.core.server.CoreNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.Audit;
import io.infermesh.edge.config.Batches;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.EdgeConfigLoader;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.config.Privacy;
import io.infermesh.edge.config.Routing;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.node.config.ConfigException;
import io.infermesh.xds.config.ControlSettings;
import io.infermesh.xds.config.MeshConfig;
import io.infermesh.xds.config.MeshConfigLoader;
import io.infermesh.xds.server.ControlPlane;
import io.infermesh.xds.server.ProxylessBootstrap;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole local mesh in this JVM, as {@code infermesh up} runs it: a CA and certificates under
 * {@code <dir>/pki} (the CA is created once and reused; leaves are re-issued each start), the
 * tiny models under {@code <dir>/models} (unless real ones are given), one core node on loopback
 * mTLS gRPC, optionally an xDS control plane on loopback serving that core as {@code
 * core-inference}, and one edge agent escalating to the core — through {@code xds:///core-inference}
 * when the control plane runs, else directly to its address. Also the fixture of the whole-mesh
 * tests, which stop and restart the core. Not thread-safe: start, restart and close from one thread.
 *
 * <p>With the control plane, this sets the JVM's grpc-xds bootstrap (system property {@value
 * #BOOTSTRAP_PROPERTY}), which grpc-xds reads once per JVM: a second mesh with a control plane in
 * the same JVM must use the same xDS port (a fresh process, or a test class in its own fork).
 */
final class MeshUp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MeshUp.class);
  static final String TRUST_DOMAIN = "infermesh.local";
  static final String REGION = "local";
  /** Everything {@code up} starts listens here only: a local mesh is never reachable from the network. */
  static final String LOOPBACK = "127.0.0.1";
  static final int EDGE_CONTEXT = 512;
  static final String CORE_NAME = "core-0";
  static final String CORE_MODEL = "tiny-core";
  static final String EDGE_NAME = "edge-0";
  static final String CONTROL_NAME = "control-0";
  /** The mesh service the core serves and the edge asks the control plane for. */
  static final String CORE_SERVICE = "core-inference";
  static final String XDS_TARGET = "xds:///" + CORE_SERVICE;
  static final String BOOTSTRAP_PROPERTY = "io.grpc.xds.bootstrapConfig";
  /** grpc-xds prefers these to {@value #BOOTSTRAP_PROPERTY}. */
  private static final List<String> BOOTSTRAP_OVERRIDES = List.of("GRPC_XDS_BOOTSTRAP", "io.grpc.xds.bootstrap",
      "GRPC_XDS_BOOTSTRAP_CONFIG");

  /**
   * The control plane {@code up} runs: the embedded demo mesh ({@link MeshConfigLoader#defaults()})
   * with this mesh's core as its one static endpoint, serving xDS over mTLS on loopback as
   * {@code control-0}.
   *
   * @param xdsPort its xDS port (0 picks one)
   * @param adminPort its admin HTTP port ({@code /nodes}, {@code /mesh}, {@code /metrics}); 0 picks
   *     one, -1 turns it off
   */
  record Control(int xdsPort, int adminPort) {
    Control {
      if (xdsPort < 0 || xdsPort > 65_535) {
        throw new IllegalArgumentException("--xds-port must be 0..65535, was " + xdsPort);
      }
      if (adminPort < -1 || adminPort > 65_535) {
        throw new IllegalArgumentException("--control-admin-port must be -1 (off) or 0..65535, was " + adminPort);
      }
    }
  }

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
   * @param control the control plane to run, or empty for none (the edge dials the core directly)
   * @param edgeConfig an edge.yaml whose {@code auth}, {@code privacy} and {@code audit} sections the edge
   *     takes (API keys, JWTs, token quotas, masking, the audit log); empty: none of them
   * @param coreConfig a core.yaml whose {@code tenants} and {@code audit} sections the core takes
   *     (which callers may name a tenant, per-tenant limits and quotas, the core's audit log); empty: none
   * @param coreInterceptors around the core's Inference service, outermost first (tests watch the wire with one)
   */
  record Options(Path dir, int httpPort, int corePort, Optional<Path> edgeModel, Optional<Path> coreModel,
      Routing routing, Duration escalationTimeout, Optional<Control> control, Optional<Path> edgeConfig,
      Optional<Path> coreConfig, List<ServerInterceptor> coreInterceptors) {
    Options {
      requireNonNull(edgeConfig, "edgeConfig");
      requireNonNull(coreConfig, "coreConfig");
      coreInterceptors = List.copyOf(coreInterceptors);
      requireNonNull(dir, "dir");
      requireNonNull(edgeModel, "edgeModel");
      requireNonNull(coreModel, "coreModel");
      requireNonNull(routing, "routing");
      requireNonNull(escalationTimeout, "escalationTimeout");
      requireNonNull(control, "control");
    }

    /** Without a control plane. */
    Options(Path dir, int httpPort, int corePort, Optional<Path> edgeModel, Optional<Path> coreModel,
        Routing routing, Duration escalationTimeout) {
      this(dir, httpPort, corePort, edgeModel, coreModel, routing, escalationTimeout, Optional.empty(),
          Optional.empty(), Optional.empty(), List.of());
    }

    Options withControl(Control value) {
      return new Options(dir, httpPort, corePort, edgeModel, coreModel, routing, escalationTimeout,
          Optional.of(value), edgeConfig, coreConfig, coreInterceptors);
    }

    /** With the governance sections of {@code file} ({@code up --edge-config}). */
    Options withEdgeConfig(Path file) {
      return new Options(dir, httpPort, corePort, edgeModel, coreModel, routing, escalationTimeout, control,
          Optional.of(file), coreConfig, coreInterceptors);
    }

    /** With the governance sections of the core.yaml {@code file} ({@code up --core-config}). */
    Options withCoreConfig(Path file) {
      return new Options(dir, httpPort, corePort, edgeModel, coreModel, routing, escalationTimeout, control,
          edgeConfig, Optional.of(file), coreInterceptors);
    }

    /** With {@code interceptor} around the core's Inference service, inside those already added. */
    Options withCoreInterceptor(ServerInterceptor interceptor) {
      List<ServerInterceptor> all = new ArrayList<>(coreInterceptors);
      all.add(requireNonNull(interceptor, "interceptor"));
      return new Options(dir, httpPort, corePort, edgeModel, coreModel, routing, escalationTimeout, control,
          edgeConfig, coreConfig, all);
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
  /** The core's metrics port: 0 picks one at the first start, a restart keeps it (Prometheus keeps scraping). */
  private int coreMetricsPort;
  private ControlPlane controlPlane;
  private EdgeAgent edge;

  private MeshUp(Options options, Path pki, CertificateAuthority ca, Path edgeModel, Path coreModel) {
    this.options = options;
    this.pki = pki;
    this.ca = ca;
    this.edgeModel = edgeModel;
    this.coreModel = coreModel;
    this.corePort = options.corePort();
  }

  /**
   * Prepares the state directory and starts the core, the control plane (when asked for), then the
   * edge; waits until all are ready.
   */
  static MeshUp start(Options options) throws Exception {
    Path dir = options.dir().toAbsolutePath().normalize();
    Path pki = dir.resolve("pki");
    CertificateAuthority ca = certificateAuthority(pki.resolve("ca"));
    for (var leaf : List.of(new Object[] {Role.CORE, CORE_NAME}, new Object[] {Role.EDGE, EDGE_NAME},
        new Object[] {Role.CONTROL, CONTROL_NAME})) {
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
      if (options.control().isPresent()) {
        mesh.startControlPlane(options.control().get());
      }
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

  /** Starts (or restarts) the core on the ports it had, and loads its model. */
  void startCore() throws IOException {
    if (core != null) {
      throw new IllegalStateException("the core is running");
    }
    CoreConfig.Builder config = CoreConfig.builder(new CoreConfig.Node(CORE_NAME, REGION),
            new CoreConfig.Tls(pki.resolve("certs"), CORE_NAME))
        .grpcPort(corePort)
        .model(CoreConfig.Model.builder(CORE_MODEL).path(coreModel).device("cpu").defaultMaxTokens(64).build())
        .metricsPort(coreMetricsPort) // /metrics, /healthz, /readyz on loopback, for a local Prometheus
        .listen(CoreConfig.Listen.loopback());
    if (options.coreConfig().isPresent()) {
      CoreConfig given = governedCore(options.coreConfig().get());
      config.tenants(given.tenants()).audit(given.audit()).telemetry(given.telemetry());
    }
    CoreNode started = CoreNode.start(config.build(), options.coreInterceptors());
    try {
      started.loadConfiguredModel();
    } catch (IOException | RuntimeException e) {
      started.close();
      throw e;
    }
    core = started;
    corePort = started.port();
    coreMetricsPort = started.metricsPort();
  }

  /** Stops the core (the edge notices through its channel and circuit breaker). */
  void stopCore() {
    if (core != null) {
      core.close();
      core = null;
    }
  }

  /**
   * Starts the control plane on the demo mesh, its one static endpoint this core, serving xDS over
   * mTLS with the mesh identity {@code control-0}, and gives this JVM the grpc-xds bootstrap of the
   * edge: its xDS stream is mTLS with the edge's own certificate ({@link ProxylessBootstrap#mtls}),
   * as are its calls to the core.
   */
  private void startControlPlane(Control control) throws IOException, InterruptedException {
    requireBootstrapSettable();
    MeshConfig demo = MeshConfigLoader.defaults();
    MeshPolicy p = demo.policy();
    MeshPolicy policy = new MeshPolicy(TRUST_DOMAIN, p.regions(), p.services(), p.burst(), p.upstream(), p.envoy(),
        p.mtls());
    MeshEndpoint endpoint = MeshEndpoint.builder(CORE_SERVICE, "127.0.0.1", corePort, REGION)
        .id(CORE_NAME).model(CORE_MODEL).build();
    ControlSettings d = demo.control();
    ControlSettings mtls = ControlSettings.builder().xds(LOOPBACK, control.xdsPort())
        .admin(d.adminAddress(), control.adminPort())
        .credentials(new ControlSettings.Credentials(pki.resolve("certs"), CONTROL_NAME))
        .refreshInterval(d.refreshInterval()).build();
    MeshConfig config = new MeshConfig(policy, mtls, Optional.empty(), List.of(endpoint));
    ControlPlane started = ControlPlane.builder(config).startupTimeout(Duration.ofSeconds(5)).start();
    String bootstrap = ProxylessBootstrap.mtls(xdsAddress(started), EDGE_NAME, REGION,
        MeshCredentialFiles.in(pki.resolve("certs"), EDGE_NAME));
    String existing = System.getProperty(BOOTSTRAP_PROPERTY);
    if (existing != null && !existing.equals(bootstrap)) {
      started.close();
      throw new IllegalStateException("this JVM already has another grpc-xds bootstrap (" + BOOTSTRAP_PROPERTY
          + "), and grpc-xds reads it only once: start this mesh in a fresh process, with the same --xds-port, "
          + "or without the control plane (--no-control)");
    }
    System.setProperty(BOOTSTRAP_PROPERTY, bootstrap);
    controlPlane = started;
  }

  /** grpc-xds reads these before {@value #BOOTSTRAP_PROPERTY}: with one set, the edge would not find this mesh. */
  private static void requireBootstrapSettable() {
    for (String name : BOOTSTRAP_OVERRIDES) {
      String value = name.startsWith("GRPC_") ? System.getenv(name) : System.getProperty(name);
      if (value != null && !value.isBlank()) {
        throw new IllegalStateException(name + " is set, and grpc-xds would read its bootstrap from there instead of "
            + "from this mesh's control plane: unset it, or start without the control plane (--no-control)");
      }
    }
  }

  private static String xdsAddress(ControlPlane plane) {
    return plane.config().control().xdsAddress() + ":" + plane.xdsPort();
  }

  private void startEdge() throws Exception {
    String target = controlPlane != null ? XDS_TARGET : LOOPBACK + ":" + corePort;
    Escalation d = Escalation.NONE;
    Escalation escalation = Escalation.builder().target(target).tls(pki.resolve("certs"), EDGE_NAME)
        .timeout(options.escalationTimeout()).circuit(d.failureRate(), d.window(), Duration.ofSeconds(2)).build();
    EdgeConfig config = EdgeConfig.defaults()
        .withModel(EdgeConfig.Model.builder().path(edgeModel).contextSize(EDGE_CONTEXT).threads(1).parallel(2)
            .defaultMaxTokens(64).build())
        .withHttpHost(LOOPBACK)
        .withHttpPort(options.httpPort())
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)))
        .withAdmission(new EdgeConfig.Admission(256, Duration.ofSeconds(1), Duration.ofMinutes(2)))
        .withEscalation(escalation)
        .withRouting(options.routing())
        .withBatch(Batches.NONE.withSqlite(options.dir().resolve("batches"))); // the Files and Batch APIs
    if (options.edgeConfig().isPresent()) {
      config = governed(config, options.edgeConfig().get());
    }
    edge = EdgeAgent.builder(config).start();
    edge.awaitModel(Duration.ofMinutes(5));
  }

  /** The sections of {@code as} that {@code up} passes to its edge. */
  static final List<String> GOVERNANCE_SECTIONS = List.of("auth", "privacy", "audit", "telemetry");

  /**
   * {@code config} with the {@code auth}, {@code privacy} and {@code audit} sections of the edge.yaml
   * {@code file}; any other section is refused (up sets the model, ports, escalation and routing itself).
   */
  static EdgeConfig governed(EdgeConfig config, Path file) throws IOException {
    EdgeConfig given = EdgeConfigLoader.load(file);
    EdgeConfig rest = given.toBuilder().auth(EdgeConfig.Auth.NONE).privacy(Privacy.NONE).audit(Audit.NONE)
        .telemetry(EdgeConfig.TELEMETRY_DEFAULT).build();
    if (!rest.equals(EdgeConfig.defaults())) {
      throw new ConfigException("(root)", file + ": infermesh up takes only the " + GOVERNANCE_SECTIONS
          + " sections from --edge-config; it sets the model, ports, escalation and routing itself (run `infermesh"
          + " edge --config` for a fully configured edge)");
    }
    return config.toBuilder().auth(given.auth()).privacy(given.privacy()).audit(given.audit())
        .telemetry(given.telemetry()).build();
  }

  /** The sections of a core.yaml that {@code up --core-config} takes. */
  static final List<String> CORE_GOVERNANCE_SECTIONS = List.of("tenants", "audit", "telemetry");

  /**
   * The core.yaml {@code file}, refused unless it holds only {@link #CORE_GOVERNANCE_SECTIONS} (up
   * sets the rest); its relative paths resolve against its directory.
   */
  static CoreConfig governedCore(Path file) throws IOException {
    CoreConfig given = CoreConfigLoader.load(file); // every key checked, errors naming file and key
    JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
    for (Iterator<String> names = root == null ? Collections.emptyIterator() : root.fieldNames(); names.hasNext();) {
      String name = names.next();
      if (!CORE_GOVERNANCE_SECTIONS.contains(name)) {
        throw new ConfigException(name, file + ": infermesh up takes only the " + CORE_GOVERNANCE_SECTIONS
            + " sections from --core-config; it sets the model, ports and TLS itself (run `infermesh core"
            + " --config` for a fully configured core)");
      }
    }
    return given;
  }

  CoreNode core() {
    return core;
  }

  int corePort() {
    return corePort;
  }

  /** The address the core's gRPC server really listens on, as {@code host:port}. */
  String coreAddress() {
    return hostPort(core.server().address().getHostString(), core.server().port());
  }

  /** The base URL of the edge's OpenAI API, with the address it really listens on. */
  String edgeUrl() {
    return "http://" + hostPort(edge.httpHost(), edge.httpPort());
  }

  private static String hostPort(String host, int port) {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  EdgeAgent edge() {
    return edge;
  }

  /** The control plane, or empty when this mesh runs without one. */
  Optional<ControlPlane> controlPlane() {
    return Optional.ofNullable(controlPlane);
  }

  /** The control plane's xDS address ({@code host:port}); only with a control plane. */
  String xdsAddress() {
    return xdsAddress(controlPlane);
  }

  /** The core target the edge escalates to: {@code xds:///core-inference} or the core's address. */
  String escalationTarget() {
    return edge.config().escalation().target().orElse("");
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

  /**
   * Stops the edge first (it drains, finishing what the core sends), then the control plane, then
   * the core.
   */
  @Override
  public void close() {
    if (edge != null) {
      edge.close();
      edge = null;
    }
    if (controlPlane != null) {
      controlPlane.close();
      controlPlane = null;
    }
    stopCore();
  }
}
