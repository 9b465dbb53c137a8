package io.infermesh.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import io.infermesh.edge.config.Routing;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code infermesh up}: a whole local mesh in one process — CA and certificates (created once
 * under {@code --dir}), tiny models, a core node, an xDS control plane on loopback serving that
 * core as {@code core-inference}, and an edge agent escalating to it over mTLS through {@code
 * xds:///core-inference} ({@code --no-control}: directly to the core's address) — until Ctrl-C,
 * then a clean stop (edge, control plane, core).
 */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    header = "Run a whole local mesh in one process: CA, models, core, xDS, edge.",
    versionProvider = VersionProvider.class,
    description = {
      "Starts a mesh CA and certificates, tiny generated models, a core node",
      "(mTLS gRPC), an xDS control plane and an edge agent (OpenAI API on",
      "--http-port) that routes each request to the edge or to the core, which it",
      "finds through xds:///core-inference. Everything listens on 127.0.0.1 only.",
      "The mesh runs until Ctrl-C (or SIGTERM), unless --exit is given.",
      "",
      "  infermesh up",
      "  infermesh up --demo               # one request per route, then keeps running",
      "  infermesh up --demo --exit        # the demo table, then stops (exit code 0)",
      "  infermesh up --no-control          # the edge dials the core directly",
      "  infermesh up --edge-config deploy/governance.edge.yaml   # API keys, quotas, masking, audit",
      "  infermesh up --edge-config deploy/governance.edge.yaml --core-config deploy/governance.core.yaml",
      "                                                           # … and the core's tenant checks and audit",
      "  infermesh up --edge-model qwen2.5-0.5b-q4_0.gguf \\",
      "      --core-model Qwen2.5-7B-Instruct/",
      ""
    })
final class UpCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--dir", paramLabel = "DIR", defaultValue = ".infermesh",
      description = "State directory: CA, certificates, generated models (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Option(names = "--http-port", paramLabel = "PORT", defaultValue = "8080",
      description = "The edge's HTTP port (default: ${DEFAULT-VALUE}; 0 picks one).")
  int httpPort;

  @Option(names = "--core-port", paramLabel = "PORT", defaultValue = "9443",
      description = "The core's mTLS gRPC port (default: ${DEFAULT-VALUE}; 0 picks one).")
  int corePort;

  @Option(names = "--xds-port", paramLabel = "PORT", defaultValue = "18000",
      description = "The control plane's xDS port, mTLS on 127.0.0.1 (default: ${DEFAULT-VALUE}; 0 picks one).")
  int xdsPort;

  @Option(names = "--control-admin-port", paramLabel = "PORT", defaultValue = "18080",
      description = "The control plane's admin HTTP port: /nodes, /mesh, /metrics (default: ${DEFAULT-VALUE}; "
          + "0 picks one; -1 turns it off).")
  int controlAdminPort;

  @Option(names = "--no-control",
      description = "Run no control plane: the edge escalates straight to the core's address instead of xds:///.")
  boolean noControl;

  @Option(names = "--edge-model", paramLabel = "GGUF", description = "The edge's model (default: a tiny generated one).")
  Path edgeModel;

  @Option(names = "--core-model", paramLabel = "PATH",
      description = "The core's model: GGUF file or Hugging Face checkpoint directory (default: a tiny generated one).")
  Path coreModel;

  @Option(names = "--edge-config", paramLabel = "FILE",
      description = "An edge.yaml whose auth, privacy, audit and telemetry sections the edge takes: API keys, JWTs, "
          + "token quotas, masking of sensitive data, the audit log, tracing (e.g. deploy/governance.edge.yaml).")
  Path edgeConfig;

  @Option(names = "--core-config", paramLabel = "FILE",
      description = "A core.yaml whose tenants, audit and telemetry sections the core takes: which callers may name a "
          + "tenant, per-tenant rates and token quotas, the core's audit log, tracing (e.g. deploy/governance.core.yaml).")
  Path coreConfig;

  @Option(names = "--demo",
      description = "Send one request per routing rule and print a table of where each went; the mesh keeps "
          + "running afterwards unless --exit is given.")
  boolean demo;

  @Option(names = "--exit",
      description = "Stop after start-up (and the demo) instead of waiting for Ctrl-C; exits non-zero if a demo "
          + "request failed.")
  boolean exit;

  @Override
  public Integer call() throws Exception {
    prefixLogsWithComponent();
    PrintWriter out = spec.commandLine().getOut();
    CountDownLatch terminate = new CountDownLatch(1);
    EdgeSignals.onTermination(terminate::countDown);
    MeshUp.Options options = new MeshUp.Options(dir, httpPort, corePort, Optional.ofNullable(edgeModel),
        Optional.ofNullable(coreModel), Routing.DEFAULT, Duration.ofSeconds(60));
    if (!noControl) {
      options = options.withControl(new MeshUp.Control(xdsPort, controlAdminPort));
    }
    if (edgeConfig != null) {
      options = options.withEdgeConfig(edgeConfig);
    }
    if (coreConfig != null) {
      options = options.withCoreConfig(coreConfig);
    }
    out.println("infermesh up: preparing " + dir.toAbsolutePath().normalize() + " and starting the mesh…");
    out.flush();
    try (MeshUp mesh = MeshUp.start(options)) {
      String base = mesh.edgeUrl();
      out.println();
      out.println("  core  tiny-core  mTLS gRPC  " + mesh.coreAddress() + "   model " + mesh.coreModel());
      out.println("        metrics http://" + MeshUp.LOOPBACK + ":" + mesh.core().metricsPort() + "/metrics");
      mesh.controlPlane().ifPresent(cp -> out.println("  xds   control    xDS " + mesh.xdsAddress()
          + " (mTLS, loopback)   serves " + MeshUp.CORE_SERVICE + (cp.adminPort() < 0 ? ""
              : "   admin http://" + cp.config().control().adminAddress() + ":" + cp.adminPort() + "/nodes")));
      out.println("  edge  OpenAI API " + base + "/v1   model " + mesh.edgeModel());
      out.println("        escalates to " + mesh.escalationTarget() + " over mTLS");
      out.println("  pki   " + mesh.certificates() + " (trust domain " + MeshUp.TRUST_DOMAIN + ")");
      out.println();
      out.println("Try:");
      out.println("  curl -si " + base + "/v1/chat/completions -H 'Content-Type: application/json' \\");
      out.println("    -d '{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],\"max_tokens\":16}'");
      out.println("  (model \"core\" or header 'x-infermesh-require: core' escalates; "
          + "'x-infermesh-privacy: local-only' never leaves the edge)");
      if (edgeConfig != null && mesh.edge().config().auth().enabled()) {
        out.println("  (" + edgeConfig + " turns on API keys or JWTs: add -H 'Authorization: Bearer YOUR_KEY';"
            + " --demo sends none)");
      }
      out.println();
      out.flush();
      boolean demoFailed = false;
      if (demo) {
        List<MeshDemo.Row> rows = MeshDemo.run(base);
        MeshDemo.print(rows, out);
        long failed = rows.stream().filter(r -> !r.ok()).count();
        demoFailed = failed > 0;
        if (demoFailed) {
          out.println("infermesh up: " + failed + " of " + rows.size() + " demo requests did not take their route "
              + "(see the log above)");
        }
      }
      if (!exit) {
        out.println("Ctrl-C to stop.");
        out.flush();
        terminate.await();
      }
      out.println(mesh.controlPlane().isPresent() ? "infermesh up: stopping the edge, the control plane, then the core"
          : "infermesh up: stopping the edge, then the core");
      out.flush();
      return exit && demoFailed ? 1 : 0;
    }
  }

  /** Prefixes every log line with its component (core, edge, certs, …) taken from the logger's package. */
  private static void prefixLogsWithComponent() {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    if (!(root.getAppender("STDERR") instanceof ConsoleAppender<ILoggingEvent> appender)) {
      return;
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%d{HH:mm:ss.SSS} %-5level %-5replace(%logger){'^io\\.infermesh\\.([a-z]+)\\..*$', '$1'}"
        + " [%thread] %logger{0} - %msg%n");
    encoder.start();
    appender.stop();
    appender.setEncoder(encoder);
    appender.start();
  }
}
