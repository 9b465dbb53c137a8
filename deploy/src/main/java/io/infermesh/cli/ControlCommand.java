package io.infermesh.cli;

import io.infermesh.xds.config.MeshConfig;
import io.infermesh.xds.config.MeshConfigLoader;
import io.infermesh.xds.server.ControlPlane;
import io.infermesh.xds.snapshot.ServicePolicy;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code infermesh control}: runs the xDS control plane. */
@Command(
    name = "control",
    mixinStandardHelpOptions = true,
    header = "Run the xDS control plane for Envoy and proxyless gRPC clients.",
    versionProvider = VersionProvider.class,
    description = {
      "Run the xDS control plane: endpoints from mesh.yaml and Consul, one snapshot per",
      "node group (Envoy or proxyless gRPC, per region), served over ADS, mutual TLS only.",
      "Each Envoy gets its own gateway certificate over SDS, issued ahead into",
      "control.gateway_certificates (the control plane holds no CA key), and only on a",
      "connection that presents that same identity:",
      "",
      "  infermesh certs issue --role gateway --region eu-west --name <envoy node.id> --out DIR",
      "",
      "Proxyless clients dial xds:///core-inference; Envoys start from deploy/envoy/.",
      "Admin (default 127.0.0.1:18080): /healthz /nodes /snapshots /mesh /metrics.",
      "",
      "  infermesh control --config deploy/mesh.yaml",
      "  infermesh control --config deploy/mesh.yaml --check   validate and summarize",
      "",
      "Without --config it serves the built-in demo mesh: plaintext on 127.0.0.1:18000,",
      "one local core node at 127.0.0.1:9443.",
      ""
    })
final class ControlCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "mesh.yaml to read (default: the built-in demo mesh).")
  Path config;

  @Option(names = "--xds-port", paramLabel = "PORT", description = "xDS port (control.xds.port; default 18000, 0 picks one).")
  Integer xdsPort;

  @Option(names = "--admin-port", paramLabel = "PORT", description = "Admin HTTP port (control.admin.port; -1 disables).")
  Integer adminPort;

  @Option(names = "--check", description = "Validate the configuration, print what it describes, and exit.")
  boolean check;

  private final CountDownLatch stopped = new CountDownLatch(1);

  /** Reads the configuration with the flags applied on top. */
  MeshConfig resolve() throws IOException {
    MeshConfig c = config == null ? MeshConfigLoader.defaults() : MeshConfigLoader.load(config);
    if (xdsPort != null) {
      c = c.withControl(c.control().withXdsPort(xdsPort));
    }
    if (adminPort != null) {
      c = c.withControl(c.control().withAdminPort(adminPort));
    }
    return c;
  }

  @Override
  public Integer call() throws Exception {
    MeshConfig c = resolve();
    PrintWriter out = spec.commandLine().getOut();
    out.println(summary(c));
    out.flush();
    if (check) {
      return 0;
    }
    ControlPlane plane = ControlPlane.builder(c).start();
    Thread hook = new Thread(() -> {
      plane.close();
      stopped.countDown();
    }, "control-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    out.printf("xds-control listening: xDS on port %d (%s), admin on %s%n", plane.xdsPort(),
        c.control().plaintext() ? "PLAINTEXT, loopback only" : "mutual TLS",
        plane.adminPort() < 0 ? "(disabled)" : "http://" + c.control().adminAddress() + ":" + plane.adminPort());
    out.flush();
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      Runtime.getRuntime().removeShutdownHook(hook);
      plane.close();
    }
    return 0;
  }

  static String summary(MeshConfig c) {
    String regions = c.policy().regions().stream()
        .map(r -> r.name() + " (" + r.tier().yamlName() + ")").collect(Collectors.joining(", "));
    String services = c.policy().services().stream().map(ControlCommand::describe).collect(Collectors.joining("; "));
    return "mesh " + c.policy().trustDomain() + ": regions " + (regions.isEmpty() ? "(none)" : regions)
        + "; services " + services
        + "; burst " + (c.policy().burst().enabled()
            ? "at " + c.policy().burst().highWatermark() + " (back under " + c.policy().burst().lowWatermark() + ")"
            : "off")
        + "; discovery: " + c.staticEndpoints().size() + " static endpoints"
        + c.consul().map(consul -> " + Consul " + consul.address()).orElse("");
  }

  private static String describe(ServicePolicy s) {
    String split = s.versions().isEmpty() ? "" : " split " + s.versions().stream()
        .map(v -> v.version() + ":" + v.weight()).collect(Collectors.joining("/"));
    String shadow = s.shadow().map(sh -> " shadow " + sh.percent() + "% to " + sh.version()).orElse("");
    return s.name() + " (" + s.protocol().name().toLowerCase(Locale.ROOT) + split + shadow + ")";
  }
}
