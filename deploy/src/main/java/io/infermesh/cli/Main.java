package io.infermesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code infermesh} command: one executable for every role in the mesh and for the tools
 * around it. Subcommands own their options; this class only wires them and exits with their code.
 */
@Command(
    name = "infermesh",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "An edge-to-datacenter inference mesh: llama.cpp edge agents,",
      "a DJL core cluster and an xDS control plane, joined by mTLS.",
      ""
    },
    subcommands = {UpCommand.class, BenchCommand.class, EdgeCommand.class, CoreCommand.class, ControlCommand.class, CertsCommand.class, ModelsCommand.class, AuditCommand.class, AdminCommand.class,
        SignerCommand.class, BatchCommand.class, CommandLine.HelpCommand.class},
    footer = {
      "",
      "Start here:",
      "  infermesh certs init --trust-domain mesh.local --out mesh/certs",
      "  infermesh models tiny --out mesh/models",
      "",
      "Run 'infermesh help COMMAND' for a command's options."
    })
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  public static void main(String[] args) {
    int exitCode = newCommandLine().execute(args);
    // llama.cpp leaves a native thread behind that keeps the JVM alive; exit explicitly.
    System.exit(exitCode);
  }

  /** The command tree, also used by tests to run subcommands in-process. */
  static CommandLine newCommandLine() {
    return new CommandLine(new Main())
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setExecutionExceptionHandler(new UserErrorHandler());
  }
}
