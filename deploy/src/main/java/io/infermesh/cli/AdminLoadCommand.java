package io.infermesh.cli;

import io.infermesh.api.v1.LoadModelRequest;
import io.infermesh.api.v1.LoadModelResponse;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code infermesh admin load}: swaps a node (or a whole pipeline, from stage 0) to a new model version. */
@Command(
    name = "load",
    description = {
      "Swap the node's model to a new version without dropping a request: the node",
      "checks every weight file against --sha256 (refusing a missing, extra or",
      "different digest before loading anything), loads the version beside the old",
      "one, sends new requests to it, and lets requests in flight finish on the old",
      "one for up to --drain-timeout (then they fail UNAVAILABLE and may be retried).",
      "Sent to stage 0 of a pipeline it swaps every stage, or none.",
      ""
    })
final class AdminLoadCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @CommandLine.Mixin AdminConnection connection;

  @Option(names = "--path", required = true, paramLabel = "PATH",
      description = {"GGUF file or Hugging Face checkpoint directory, as the node", "sees it (relative:"
          + " next to its configured model)."})
  String path;

  @Option(names = "--sha256", required = true, paramLabel = "FILE=HASH",
      description = {"Expected SHA-256 of each weight file (repeat it): the GGUF", "file's name, or each"
          + " *.safetensors file of the directory."})
  Map<String, String> sha256 = new LinkedHashMap<>();

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
  boolean help;

  // --version names the model version here, so this command has no -V/--version of its own
  @Option(names = "--version", defaultValue = "", paramLabel = "LABEL",
      description = {"Version label answers will carry (default: sha256: and the", "first 12 hex digits)."})
  String version;

  @Option(names = "--drain-timeout", defaultValue = "120s", paramLabel = "DURATION",
      description = "How long the old version may finish its requests (default: ${DEFAULT-VALUE}).")
  String drainTimeout;

  @Override
  public Integer call() throws Exception {
    LoadModelRequest request = LoadModelRequest.newBuilder().setPath(path).putAllSha256(sha256).setVersion(version)
        .setDrainTimeoutMs(AdminConnection.drainMillis(drainTimeout)).build();
    PrintWriter out = spec.commandLine().getOut();
    return connection.call(spec.commandLine().getErr(), admin -> printSwap(out, admin.loadModel(request)));
  }

  static void printSwap(PrintWriter out, LoadModelResponse r) {
    out.println("now serving:");
    AdminModelsCommand.print(out, r.getServing());
    if (r.hasReplaced()) {
      out.println("replaced:");
      AdminModelsCommand.print(out, r.getReplaced());
    }
    if (r.getStageIdsCount() > 0) {
      out.println("with pipeline stages: " + String.join(", ", r.getStageIdsList()));
    }
  }
}
