package io.infermesh.cli;

import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.CoreConfigLoader;
import io.infermesh.core.config.Engine;
import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.core.lifecycle.StageModel;
import io.infermesh.core.server.CoreNode;
import io.infermesh.core.server.StageNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code infermesh core}: runs a core-cluster node. */
@Command(
    name = "core",
    mixinStandardHelpOptions = true,
    header = "Run a core node: the DJL engine (or a pipeline stage) on mTLS gRPC.",
    versionProvider = VersionProvider.class,
    description = {
      "Run a core node: the DJL/PyTorch engine with continuous batching behind the",
      "mTLS gRPC Inference service (callers: roles edge and gateway).",
      "",
      "Pipeline sharding: start the stages last first, each with the same model and",
      "--stage I/N; every stage but the last names the next one with --next. Stage 0",
      "serves Inference; later stages serve Shard to core nodes only.",
      "",
      "engine.type upstream forwards to an OpenAI-compatible server (vLLM, TGI,",
      "llama.cpp server, DJL-Serving LMI) at engine.upstream.url instead of loading",
      "a model, keeping the mesh's mTLS, roles, priorities, metrics and health.",
      "  infermesh core --config core.yaml --stage 1/2 --grpc-port 9444",
      "  infermesh core --config core.yaml --stage 0/2 --next core-1:9444",
      "",
      "Settings come from --config (see deploy/core.yaml); flags override it. Health",
      "reports NOT_SERVING until the model is loaded. A model that cannot be loaded",
      "(missing, corrupt, truncated, wrong sha256) stops start-up with one line.",
      "",
      "With consul.address (or --consul) the node registers in its Consul agent with",
      "the attributes xds-control's discovery reads (its utilization among them, for",
      "the burst policy) and a TTL check that follows its health, and deregisters on",
      "a clean shutdown. Later pipeline stages do not.",
      ""
    })
final class CoreCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "core.yaml to read (default: built-in defaults).")
  Path config;

  @Option(names = "--model", paramLabel = "PATH", description = "GGUF file or Hugging Face checkpoint directory (model.path).")
  String model;

  @Option(names = "--grpc-port", paramLabel = "PORT", description = "gRPC port (grpc.port; default 9443, 0 picks one).")
  Integer grpcPort;

  @Option(names = "--metrics-port", paramLabel = "PORT", description = "Prometheus /metrics port (metrics.port; -1 disables).")
  Integer metricsPort;

  @Option(names = "--device", paramLabel = "DEVICE", description = "auto, cpu, cuda or cuda:N (model.device).")
  String device;

  @Option(names = "--stage", paramLabel = "I/N", description = "Pipeline stage of this node, e.g. 0/2 (stage.index/stage.count).")
  String stage;

  @Option(names = "--next", paramLabel = "HOST:PORT", description = "Address of the next pipeline stage (stage.next).")
  String next;

  @Option(names = "--consul", paramLabel = "URL",
      description = "Register in the Consul agent at URL, e.g. http://127.0.0.1:8500 (consul.address).")
  String consul;

  /** Reads the config file with the flags applied on top. */
  CoreConfig resolve() throws IOException {
    Map<String, String> overrides = new LinkedHashMap<>();
    if (model != null) {
      overrides.put("model.path", Path.of(model).toAbsolutePath().toString());
    }
    if (grpcPort != null) {
      overrides.put("grpc.port", grpcPort.toString());
    }
    if (metricsPort != null) {
      overrides.put("metrics.port", metricsPort.toString());
    }
    if (device != null) {
      overrides.put("model.device", device);
    }
    if (stage != null) {
      String[] parts = stage.split("/", 2);
      if (parts.length != 2) {
        throw new IllegalArgumentException("--stage: must look like I/N (e.g. 0/2), got '" + stage + "'");
      }
      overrides.put("stage.index", parts[0].trim());
      overrides.put("stage.count", parts[1].trim());
    }
    if (next != null) {
      overrides.put("stage.next", next);
    }
    if (consul != null) {
      overrides.put("consul.address", consul);
    }
    return CoreConfigLoader.load(config, overrides);
  }

  @Override
  public Integer call() throws Exception {
    CoreConfig c = resolve();
    if (c.engine() instanceof Engine.Upstream && c.stage().count() > 1) {
      throw new IllegalArgumentException("stage: an upstream engine cannot be split into pipeline stages");
    }
    PrintWriter out = spec.commandLine().getOut();
    if (c.stage().index() > 0) {
      return runStage(c, out);
    }
    try (CoreNode node = CoreNode.start(c)) {
      if (node.upstream()) {
        out.printf("core node %s listening on gRPC port %d, forwarding %s to %s (NOT_SERVING while it is unhealthy)%n",
            c.node().name(), node.port(), c.model().name(), ((Engine.Upstream) c.engine()).url());
        out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(node::close, "core-shutdown"));
        node.awaitTermination();
        return 0;
      }
      out.printf("core node %s listening on gRPC port %d (NOT_SERVING until the model loads)%n",
          c.node().name(), node.port());
      out.flush();
      ServedModel m = node.loadConfiguredModel();
      out.printf("serving %s version %s on %s (context %d tokens)%s%n", m.name(), m.version(), m.device(),
          m.contextLength(), c.stage().count() > 1
              ? "; pipeline stage 0 of " + c.stage().count() + ", next " + c.stage().next() : "");
      out.flush();
      Runtime.getRuntime().addShutdownHook(new Thread(node::close, "core-shutdown"));
      node.awaitTermination();
    }
    return 0;
  }

  /** A later pipeline stage: Shard only, no Inference. */
  private static int runStage(CoreConfig c, PrintWriter out) throws Exception {
    try (StageNode node = StageNode.start(c)) {
      out.printf("core node %s (pipeline stage %d of %d) listening on gRPC port %d (NOT_SERVING until loaded)%n",
          c.node().name(), c.stage().index(), c.stage().count(), node.port());
      out.flush();
      StageModel m = node.loadConfiguredModel();
      out.printf("serving layers [%d, %d) of %s on %s%s%n", m.layers().from(), m.layers().to(), m.name(), m.device(),
          m.isLast() ? " (last stage: LM head and sampling)" : "; next stage " + c.stage().next());
      out.flush();
      Runtime.getRuntime().addShutdownHook(new Thread(node::close, "core-shutdown"));
      node.awaitTermination();
    }
    return 0;
  }
}
