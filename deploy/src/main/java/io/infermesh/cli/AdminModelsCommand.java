package io.infermesh.cli;

import io.infermesh.api.v1.ListModelVersionsRequest;
import io.infermesh.api.v1.ListModelVersionsResponse;
import io.infermesh.api.v1.ModelVersion;
import io.infermesh.api.v1.WeightFile;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code infermesh admin models}: the versions a node holds. */
@Command(
    name = "models",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "List the model versions a node holds: the one serving, one draining after a",
      "swap, and the previous one a rollback returns to; each with its path and the",
      "SHA-256 of every weight file.",
      ""
    })
final class AdminModelsCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @CommandLine.Mixin AdminConnection connection;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    return connection.call(spec.commandLine().getErr(), admin -> {
      ListModelVersionsResponse r = admin.listModels(ListModelVersionsRequest.getDefaultInstance());
      out.println(r.getNodeId() + (r.getDrained() ? " (drained)" : ""));
      for (ModelVersion m : r.getModelsList()) {
        print(out, m);
      }
    });
  }

  static void print(PrintWriter out, ModelVersion m) {
    out.printf("  %-9s %s %s  in flight %d  %s%n", state(m), m.getName(), m.getVersion(), m.getInFlight(), m.getPath());
    for (WeightFile f : m.getWeightFilesList()) {
      out.println("            sha256 " + f.getSha256() + "  " + f.getFile());
    }
  }

  private static String state(ModelVersion m) {
    return switch (m.getState()) {
      case MODEL_STATE_SERVING, MODEL_STATE_DRAINING, MODEL_STATE_PREVIOUS, MODEL_STATE_PREPARED ->
          m.getState().name().substring("MODEL_STATE_".length()).toLowerCase(Locale.ROOT);
      default -> "unknown";
    };
  }
}
