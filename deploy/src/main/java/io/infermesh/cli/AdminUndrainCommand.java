package io.infermesh.cli;

import io.infermesh.api.v1.UndrainRequest;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code infermesh admin undrain}: puts a drained node back into rotation. */
@Command(
    name = "undrain",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Put a drained node back into rotation: its readiness again follows whether",
      "its model serves.",
      ""
    })
final class AdminUndrainCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @CommandLine.Mixin AdminConnection connection;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    return connection.call(spec.commandLine().getErr(),
        admin -> AdminDrainCommand.print(out, admin.undrain(UndrainRequest.getDefaultInstance())));
  }
}
