package io.infermesh.cli;

import io.infermesh.api.v1.RollbackRequest;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code infermesh admin rollback}: swaps a node back to its previous version. */
@Command(
    name = "rollback",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Swap back to the previous version, exactly like 'admin load' would (instantly",
      "while it still drains; otherwise reloaded and checked against the digests",
      "verified when it first loaded). Rolling back twice returns to where it began.",
      ""
    })
final class AdminRollbackCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @CommandLine.Mixin AdminConnection connection;

  @Option(names = "--drain-timeout", defaultValue = "120s", paramLabel = "DURATION",
      description = "How long the version rolled back from may finish its requests (default: ${DEFAULT-VALUE}).")
  String drainTimeout;

  @Override
  public Integer call() throws Exception {
    RollbackRequest request = RollbackRequest.newBuilder()
        .setDrainTimeoutMs(AdminConnection.drainMillis(drainTimeout)).build();
    PrintWriter out = spec.commandLine().getOut();
    return connection.call(spec.commandLine().getErr(),
        admin -> AdminLoadCommand.printSwap(out, admin.rollback(request)));
  }
}
