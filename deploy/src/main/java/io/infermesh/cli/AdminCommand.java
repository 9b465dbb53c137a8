package io.infermesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code infermesh admin}: the operator's commands for a node's models and rotation. */
@Command(
    name = "admin",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Administer one node over its Admin gRPC service (mTLS, role operator only):",
      "list its model versions, swap or roll back its model without dropping a",
      "request, take it out of rotation and back.",
      "",
      "Every command takes --target HOST:PORT and an operator certificate: --cert,",
      "--key and --ca, or by default the .infermesh/ directory 'infermesh up'",
      "writes (an operator identity is issued there from its CA on first use).",
      ""
    },
    subcommands = {AdminModelsCommand.class, AdminLoadCommand.class, AdminRollbackCommand.class,
        AdminDrainCommand.class, AdminUndrainCommand.class},
    footer = {
      "",
      "Examples:",
      "  infermesh admin models --target core-1:9443",
      "  infermesh admin load --target core-1:9443 --path /models/qwen-v2.gguf \\",
      "      --sha256 qwen-v2.gguf=$(sha256sum /models/qwen-v2.gguf | cut -d' ' -f1) --version v2",
      "  infermesh admin rollback --target core-1:9443",
      "  infermesh admin drain --target core-1:9443 --cert op.crt --key op.key --ca ca.crt"
    })
final class AdminCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
