package io.infermesh.cli;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.EdgeConfigLoader;
import io.infermesh.edge.config.LocalEngine;
import io.infermesh.edge.engine.Engine;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code infermesh edge}: runs an edge agent until SIGTERM or SIGINT, then shuts it down cleanly
 * (stop accepting, let requests in flight finish within {@code shutdown.grace}, cancel the rest)
 * and exits 0.
 */
@Command(
    name = "edge",
    mixinStandardHelpOptions = true,
    header = "Run an edge agent: llama.cpp behind the OpenAI API and gRPC.",
    versionProvider = VersionProvider.class,
    description = {
      "Run an edge agent: a local llama.cpp model behind an OpenAI-compatible HTTP API",
      "(/v1/chat/completions, /v1/completions, /v1/models, /healthz, /readyz, /metrics)",
      "and the infermesh.v1.Inference gRPC API (TLS only; on when grpc.tls is set).",
      "",
      "  infermesh edge --config deploy/edge.yaml",
      "  infermesh edge --model models/tiny-edge-q8_0.gguf --http-port 8080",
      "",
      "Settings come from --config (see deploy/edge.yaml); flags override it. The HTTP API",
      "listens on 127.0.0.1 unless http.host names another address; that needs API keys",
      "(else 127.0.0.1 is used) and HTTPS (http.tls), or the agent does not start, unless",
      "http.allow_plaintext says TLS ends in front of it. SIGTERM drains and exits 0.",
      ""
    })
final class EdgeCommand implements Callable<Integer> {
  /** How long start-up waits for the model to load. */
  private static final Duration LOAD_TIMEOUT = Duration.ofMinutes(30);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "edge.yaml to read (default: built-in defaults).")
  Path config;

  @Option(names = "--model", paramLabel = "PATH", description = "GGUF model file (model.path).")
  Path model;

  @Option(names = "--http-port", paramLabel = "PORT", description = "HTTP port (http.port; default 8080, 0 picks one).")
  Integer httpPort;

  @Option(names = "--grpc-port", paramLabel = "PORT", description = "gRPC port (grpc.port; default 9090, 0 picks one).")
  Integer grpcPort;

  @Option(names = "--consul", paramLabel = "URL",
      description = "Register in the Consul agent at URL, e.g. http://127.0.0.1:8500 (consul.address).")
  String consul;

  /** The config file with the flags applied on top. */
  EdgeConfig resolve() throws IOException {
    EdgeConfig resolved = config == null ? EdgeConfig.defaults() : EdgeConfigLoader.load(config);
    if (model != null) {
      resolved = resolved.withModelPath(model.toAbsolutePath().normalize());
    }
    if (httpPort != null) {
      resolved = resolved.withHttpPort(httpPort);
    }
    if (grpcPort != null) {
      resolved = resolved.withGrpcPort(grpcPort);
    }
    if (consul != null) {
      resolved = resolved.withConsul(resolved.consul().toBuilder().address(consul).build());
    }
    if (resolved.model().path() == null && !(resolved.engine() instanceof LocalEngine.Upstream)) {
      throw new IllegalArgumentException("model.path: not set; set it in edge.yaml or pass --model PATH"
          + " (or serve from a local OpenAI-compatible server: engine.type: upstream)");
    }
    return resolved;
  }

  @Override
  public Integer call() throws Exception {
    EdgeConfig resolved = resolve();
    CountDownLatch terminate = new CountDownLatch(1);
    EdgeSignals.onTermination(terminate::countDown);
    EdgeAgent agent = EdgeAgent.builder(resolved).start();
    try {
      Engine engine = awaitModel(agent, terminate);
      if (engine != null) {
        PrintWriter out = spec.commandLine().getOut();
        out.println("infermesh edge: serving " + engine.info().name() + " (" + engine.info().version()
            + ") on " + agent.httpScheme() + "://" + agent.httpHost() + ":" + agent.httpPort() + "/v1"
            + (agent.grpcPort().isPresent() ? ", gRPC on port " + agent.grpcPort().getAsInt() : ""));
        out.flush();
        terminate.await();
      }
    } finally {
      agent.close();
    }
    return 0;
  }

  /** The loaded engine, or null when a termination signal came first. */
  private static Engine awaitModel(EdgeAgent agent, CountDownLatch terminate) throws Exception {
    long deadline = System.nanoTime() + LOAD_TIMEOUT.toNanos();
    while (terminate.getCount() > 0) {
      try {
        return agent.awaitModel(Duration.ofMillis(200));
      } catch (TimeoutException e) {
        if (System.nanoTime() - deadline > 0) {
          throw new IllegalStateException("model.path: the model did not load within " + LOAD_TIMEOUT);
        }
      }
    }
    return null;
  }
}
