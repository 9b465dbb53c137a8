package io.infermesh.cli;

import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.IssuedCertificate;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code infermesh certs issue}: issues a SPIFFE certificate for one mesh process. */
@Command(
    name = "issue",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Issue a certificate for one mesh process.",
      "",
      "Its identity (URI SAN) is spiffe://<trust-domain>/<region>/<role>/<name>; the",
      "same certificate serves and calls. Writes OUT/<name>.crt (the certificate,",
      "then the CA), OUT/<name>.key (mode 0600) and, when missing, OUT/ca.crt.",
      "",
      "Existing files are kept unless --force is given. Re-issuing with --force is",
      "how a certificate is rotated: running processes pick up the new files",
      "without a restart.",
      "",
      "An Envoy gateway is named as its node.id; issue its certificate into the control",
      "plane's control.gateway_certificates directory too, which serves it back to that",
      "Envoy (and no one else) over SDS.",
      ""
    })
final class CertsIssueCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--ca", defaultValue = "certs", paramLabel = "DIR",
      description = "Directory holding ca.crt and ca.key (default: ${DEFAULT-VALUE}).")
  Path caDirectory;

  @Option(names = "--role", required = true, paramLabel = "ROLE", converter = CertsCommand.RoleConverter.class,
      completionCandidates = CertsCommand.RoleNames.class,
      description = "What the process is: one of ${COMPLETION-CANDIDATES}.")
  Role role;

  @Option(names = "--region", required = true, paramLabel = "REGION",
      description = {"Region the process runs in: a lower-case DNS label,", "for example us-east."})
  String region;

  @Option(names = "--name", required = true, paramLabel = "NAME",
      description = {"The process's name, unique within region and role,", "for example edge-1; also the file name."})
  String name;

  @Option(names = "--dns", paramLabel = "NAME",
      description = {"A DNS subject alternative name, for clients that", "check host names (repeatable)."})
  List<String> dnsNames = new ArrayList<>();

  @Option(names = "--ip", paramLabel = "ADDR",
      description = "An IP subject alternative name (repeatable).")
  List<String> ipAddresses = new ArrayList<>();

  @Option(names = "--days", defaultValue = "90", paramLabel = "N",
      description = "How many days the certificate is valid (default: ${DEFAULT-VALUE}).")
  int days;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Directory for the new files (default: the CA directory).")
  Path out;

  @Option(names = "--force", description = "Replace existing files (rotate the certificate).")
  boolean force;

  @Override
  public Integer call() throws IOException {
    LeafRequest.Builder request = LeafRequest.builder(role, region, name).validity(CertsCommand.days(days));
    dnsNames.forEach(request::dnsName);
    ipAddresses.forEach(request::ipAddress);
    LeafRequest leafRequest = request.build();
    CertificateAuthority ca = loadCa();
    IssuedCertificate issued = ca.issue(leafRequest);
    Path directory = out == null ? caDirectory : out;
    MeshCredentialFiles files;
    try {
      files = issued.writeTo(directory, force);
    } catch (FileAlreadyExistsException e) {
      throw CertsCommand.refusedOverwrite(e);
    }
    PrintWriter stdout = spec.commandLine().getOut();
    stdout.printf("Issued %s%n", issued.spiffeId());
    stdout.printf("  certificate   %s  (followed by the CA certificate)%n", files.certificateChain());
    stdout.printf("  private key   %s  (mode 0600)%n", files.privateKey());
    stdout.printf("  trust bundle  %s%n", files.trustBundle());
    stdout.printf("  DNS SANs      %s%n", leafRequest.dnsNames().isEmpty() ? "(none)" : String.join(", ", leafRequest.dnsNames()));
    stdout.printf("  IP SANs       %s%n", leafRequest.ipAddresses().isEmpty() ? "(none)"
        : leafRequest.ipAddresses().stream().map(InetAddress::getHostAddress).collect(Collectors.joining(", ")));
    stdout.printf("  serial        %s%n", issued.certificate().getSerialNumber().toString(16));
    stdout.printf("  valid until   %s%n", issued.certificate().getNotAfter().toInstant());
    stdout.flush();
    return 0;
  }

  private CertificateAuthority loadCa() throws IOException {
    try {
      return CertificateAuthority.load(caDirectory, Clock.systemUTC());
    } catch (NoSuchFileException e) {
      throw new IOException("no CA in " + caDirectory + " (" + e.getFile() + " not found): create one with"
          + " 'infermesh certs init --trust-domain DOMAIN --out " + caDirectory + "', or point --ca at it", e);
    }
  }
}
