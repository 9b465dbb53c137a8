package io.infermesh.cli;

import io.infermesh.certs.CertificateAuthority;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code infermesh certs init}: creates the mesh CA. */
@Command(
    name = "init",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Create the mesh CA (a self-signed ECDSA P-256 root) for a trust domain.",
      "",
      "Writes DIR/ca.crt, the trust bundle that every process gets a copy of, and",
      "DIR/ca.key (mode 0600; keep it secret: it can issue any identity).",
      "Existing files are kept unless --force is given.",
      ""
    })
final class CertsInitCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--trust-domain", required = true, paramLabel = "DOMAIN",
      description = {"The trust domain: a lower-case DNS-like name,", "for example mesh.local."})
  String trustDomain;

  @Option(names = "--out", required = true, paramLabel = "DIR",
      description = "Directory for ca.crt and ca.key; created if missing.")
  Path out;

  @Option(names = "--days", defaultValue = "3650", paramLabel = "N",
      description = "How many days the CA is valid (default: ${DEFAULT-VALUE}).")
  int days;

  @Option(names = "--force",
      description = "Replace an existing CA. Certificates issued by the old one stop being trusted.")
  boolean force;

  @Override
  public Integer call() throws IOException {
    CertificateAuthority ca = CertificateAuthority.create(trustDomain, CertsCommand.days(days), Clock.systemUTC());
    try {
      ca.writeTo(out, force);
    } catch (FileAlreadyExistsException e) {
      throw CertsCommand.refusedOverwrite(e);
    }
    PrintWriter stdout = spec.commandLine().getOut();
    stdout.printf("Created the mesh CA for trust domain %s%n", ca.trustDomain());
    stdout.printf("  identity      spiffe://%s%n", ca.trustDomain());
    stdout.printf("  certificate   %s  (the trust bundle: copy it to every process)%n",
        out.resolve(CertificateAuthority.CERTIFICATE_FILE));
    stdout.printf("  private key   %s  (mode 0600: keep it secret)%n", out.resolve(CertificateAuthority.PRIVATE_KEY_FILE));
    stdout.printf("  valid until   %s%n", ca.certificate().getNotAfter().toInstant());
    stdout.printf("Next, issue a certificate for each process, e.g.:%n");
    stdout.printf("  infermesh certs issue --ca %s --role edge --region us-east --name edge-1%n", out);
    stdout.flush();
    return 0;
  }
}
