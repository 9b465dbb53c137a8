package io.infermesh.cli;

import io.infermesh.certs.Role;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Iterator;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code infermesh certs}: the mesh PKI from the command line — create a CA, issue SPIFFE
 * certificates for mesh processes, inspect certificates.
 */
@Command(
    name = "certs",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Manage the mesh PKI: the CA and a certificate for every process.",
      "",
      "Each process's identity, spiffe://<trust-domain>/<region>/<role>/<name>, is",
      "carried in its certificate. Every infermesh server requires such a certificate",
      "from its clients (mutual TLS) and authorizes each call by the caller's role.",
      ""
    },
    subcommands = {CertsInitCommand.class, CertsIssueCommand.class, CertsInspectCommand.class},
    footer = {
      "",
      "Example:",
      "  infermesh certs init --trust-domain mesh.local --out mesh/certs",
      "  infermesh certs issue --ca mesh/certs --role edge --region us-east --name edge-1 \\",
      "      --dns edge-1.local",
      "  infermesh certs inspect mesh/certs/edge-1.crt"
    })
final class CertsCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code --days} as a duration, refusing zero and negative values with the option's name. */
  static Duration days(int days) {
    if (days <= 0) {
      throw new IllegalArgumentException("--days must be a positive number of days, got " + days);
    }
    return Duration.ofDays(days);
  }

  /** A refused overwrite, told the way a command-line user can act on it. */
  static IOException refusedOverwrite(FileAlreadyExistsException e) {
    String reason = e.getReason() == null ? "already exists" : e.getReason();
    return new IOException("refusing to overwrite " + e.getFile() + " (it " + reason
        + "); pass --force to replace it", e);
  }

  /** {@code --role}: parsed case-insensitively, with the valid roles in the error. */
  static final class RoleConverter implements CommandLine.ITypeConverter<Role> {
    @Override
    public Role convert(String value) {
      try {
        return Role.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  /** The role names, for help and shell completion. */
  static final class RoleNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return Arrays.stream(Role.values()).map(Role::pathName).iterator();
    }
  }
}
