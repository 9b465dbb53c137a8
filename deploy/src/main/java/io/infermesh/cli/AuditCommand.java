package io.infermesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code infermesh audit}: tools for the audit log that edge and core processes write. */
@Command(
    name = "audit",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Check the audit log: one JSON line per request decision, each line",
      "carrying the SHA-256 of the line before it, across files.",
      ""
    },
    subcommands = {AuditVerifyCommand.class},
    footer = {
      "",
      "Example:",
      "  infermesh audit verify /var/lib/infermesh/audit/audit-*.jsonl"
    })
final class AuditCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
