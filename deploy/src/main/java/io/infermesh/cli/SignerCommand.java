package io.infermesh.cli;

import io.infermesh.certs.DenyList;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.xds.signer.SignerServer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code infermesh signer}: renews devices' short-lived certificates; the one process that holds the CA key. */
@Command(
    name = "signer",
    mixinStandardHelpOptions = true,
    header = "Renew devices' short-lived mesh certificates (holds the CA key).",
    versionProvider = VersionProvider.class,
    description = {
      "Serve infermesh.v1.CertificateSigner over mutual TLS: a device sends a PKCS#10",
      "CSR with its current certificate and gets the next one, valid for --ttl. A",
      "caller renews only its own SPIFFE ID and names; a revoked one (--deny-list) is",
      "refused. Run it on one guarded box: it is the only process that needs ca.key.",
      "",
      "Its own identity has role control (the edges expect it):",
      "",
      "  infermesh certs issue --ca mesh/ca --role control --region eu-west --name signer --out mesh/signer",
      "  infermesh signer --ca mesh/ca --tls-dir mesh/signer --name signer --ttl 24h \\",
      "      --deny-list mesh/deny-list.txt",
      "",
      "Edges renew with escalation.tls.renew.signer: <host>:<port> in edge.yaml.",
      ""
    })
final class SignerCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--ca", required = true, paramLabel = "DIR", description = "Directory holding ca.crt and ca.key.")
  Path caDirectory;

  @Option(names = "--tls-dir", paramLabel = "DIR",
      description = "Directory holding the signer's own <name>.crt, <name>.key and ca.crt (default: the CA directory).")
  Path tlsDirectory;

  @Option(names = "--name", defaultValue = "signer", paramLabel = "NAME",
      description = "File name of the signer's own certificate, role control (default: ${DEFAULT-VALUE}).")
  String name;

  @Option(names = "--port", defaultValue = "" + SignerServer.Settings.DEFAULT_PORT, paramLabel = "PORT",
      description = "gRPC port (default: ${DEFAULT-VALUE}; 0 picks one).")
  int port;

  @Option(names = "--address", defaultValue = "0.0.0.0", paramLabel = "ADDR",
      description = "Address to bind (default: ${DEFAULT-VALUE}, every interface; mutual TLS only).")
  String address;

  @Option(names = "--ttl", defaultValue = "24h", paramLabel = "DURATION",
      description = "Validity of a renewed certificate, e.g. 1h, 24h (default: ${DEFAULT-VALUE}).")
  String ttl;

  @Option(names = "--deny-list", paramLabel = "FILE",
      description = {"Revoked identities: one SPIFFE ID or serial:<hex> a line,", "re-read every 5s; refused renewal."})
  Path denyList;

  @Option(names = "--allow-roles", paramLabel = "ROLE", split = ",", converter = CertsCommand.RoleConverter.class,
      description = "Roles that may renew, comma-separated (default: edge).")
  List<Role> allowedRoles = new ArrayList<>(List.of(Role.EDGE));

  private final CountDownLatch stopped = new CountDownLatch(1);

  /** The settings these flags describe. */
  SignerServer.Settings settings() {
    Duration validity = BenchCommand.parseDuration("--ttl", ttl);
    Path tls = tlsDirectory == null ? caDirectory : tlsDirectory;
    SignerServer.Settings.Builder settings = SignerServer.Settings.builder(caDirectory, MeshCredentialFiles.in(tls, name))
        .port(port).bindAddress(address).validity(validity)
        .allowedRoles(allowedRoles.isEmpty() ? Set.of() : EnumSet.copyOf(allowedRoles));
    if (denyList != null) {
      settings.denyList(denyList, DenyList.DEFAULT_REFRESH_PERIOD);
    }
    return settings.build();
  }

  @Override
  public Integer call() throws Exception {
    SignerServer signer = SignerServer.start(settings());
    Thread hook = new Thread(() -> {
      signer.close();
      stopped.countDown();
    }, "signer-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    PrintWriter out = spec.commandLine().getOut();
    out.printf("signer listening on %s (mutual TLS), renewing for %s, certificates valid for %s%n",
        signer.address(), allowedRoles, ttl);
    out.flush();
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      Runtime.getRuntime().removeShutdownHook(hook);
      signer.close();
    }
    return 0;
  }
}
