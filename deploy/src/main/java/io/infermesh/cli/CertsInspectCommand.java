package io.infermesh.cli;

import io.infermesh.certs.CertificateInspector;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code infermesh certs inspect}: describes the certificates in a PEM file. */
@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Describe the certificates in a PEM file.",
      "",
      "Prints each certificate's subject, issuer, serial, SPIFFE identity, DNS and IP",
      "SANs, validity (and whether it has expired), key and key usages. Works on a",
      "process's .crt file, on ca.crt and on trust bundles; never prints keys.",
      ""
    })
final class CertsInspectCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "FILE", description = "A PEM certificate file, for example certs/edge-1.crt.")
  Path file;

  @Override
  public Integer call() throws IOException {
    spec.commandLine().getOut().print(CertificateInspector.of(Clock.systemUTC()).describe(file));
    spec.commandLine().getOut().flush();
    return 0;
  }
}
