package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.CoreConfigLoader;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.EdgeConfigLoader;
import io.infermesh.edge.http.HttpBindAddress;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/k8s/infermesh.yaml} without a cluster: the documents' shape, the embedded configs
 * through the real loaders, every container's arguments through the real command tree, and ports,
 * probes, selectors and mounts checked against each other and against the configs.
 */
class KubernetesManifestsTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Path ETC = Path.of("/etc/infermesh");
  private static List<JsonNode> docs;

  @BeforeAll
  static void read() throws Exception {
    docs = new ArrayList<>();
    try (var it = YAML.readerFor(JsonNode.class).readValues(Path.of("k8s/infermesh.yaml").toFile())) {
      while (it.hasNext()) {
        docs.add((JsonNode) it.next());
      }
    }
  }

  @Test
  void everyDocument_hasKindNameAndTheNamespace() {
    assertThat(docs).extracting(d -> d.path("kind").asText())
        .containsExactly("Namespace", "ConfigMap", "Service", "StatefulSet", "PodDisruptionBudget", "Secret", "Service",
            "Deployment");
    for (JsonNode d : docs) {
      assertThat(d.path("apiVersion").asText()).as("apiVersion of %s", d.path("kind")).isNotEmpty();
      assertThat(d.at("/metadata/name").asText()).startsWith("infermesh");
      if (!d.path("kind").asText().equals("Namespace")) {
        assertThat(d.at("/metadata/namespace").asText()).isEqualTo("infermesh");
      }
    }
  }

  @Test
  void coreStatefulSet_agreesWithItsConfigAndService() throws Exception {
    CoreConfig core = CoreConfigLoader.parse(YAML.readTree(file("ConfigMap", "infermesh-core-config", "core.yaml")), ETC);
    JsonNode pod = workload("StatefulSet", "infermesh-core").path("spec").path("template");
    JsonNode container = container(pod, "core");

    assertThat(port(container, "grpc")).isEqualTo(core.grpcPort());
    assertThat(port(container, "metrics")).isEqualTo(core.metricsPort());
    assertThat(InetAddress.getByName(core.listen().metrics()).isLoopbackAddress())
        .as("the kubelet probes the pod IP: metrics.address must not be loopback").isFalse();
    assertThat(container.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/readyz");
    assertThat(container.at("/readinessProbe/httpGet/port").asText()).isEqualTo("metrics");
    assertThat(mountedFrom(pod, container, core.tls().dir())).isEqualTo("secret:infermesh-core-tls");
    assertThat(mountedFrom(pod, container, core.model().path().getParent())).isEqualTo("emptyDir");
    assertCommandLinesParseAndConfigsAreMounted(pod);
    JsonNode service = workload("Service", "infermesh-core");
    assertThat(service.at("/spec/clusterIP").asText()).isEqualTo("None");
    assertServiceSelects(service, pod);
  }

  @Test
  void edgeDeployment_agreesWithItsConfigAndReachesTheCoreService() throws Exception {
    EdgeConfig edge = EdgeConfigLoader.parse(file("Secret", "infermesh-edge-config", "edge.yaml"), ETC);
    CoreConfig core = CoreConfigLoader.parse(YAML.readTree(file("ConfigMap", "infermesh-core-config", "core.yaml")), ETC);
    JsonNode pod = workload("Deployment", "infermesh-edge").path("spec").path("template");
    JsonNode container = container(pod, "edge");

    assertThat(port(container, "http")).isEqualTo(edge.http().port());
    assertThat(edge.auth().tenants()).as("a non-loopback edge needs API keys").isNotEmpty();
    assertThat(HttpBindAddress.of(edge.http(), edge.auth().enabled())).as("the edge would start on the pod address")
        .isEqualTo("0.0.0.0");
    assertThat(edge.http().tls()).as("no plaintext API on the pod network").hasValueSatisfying(tls -> {
      assertThat(mountedFrom(pod, container, tls.certificateChain().getParent())).isEqualTo("secret:infermesh-edge-tls");
      assertThat(mountedFrom(pod, container, tls.privateKey().getParent())).isEqualTo("secret:infermesh-edge-tls");
    });
    assertThat(container.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/readyz");
    assertThat(container.at("/readinessProbe/httpGet/scheme").asText()).isEqualTo("HTTPS");
    assertThat(container.at("/livenessProbe/httpGet/scheme").asText()).isEqualTo("HTTPS");
    assertThat(pod.at("/metadata/annotations/prometheus.io~1scheme").asText()).isEqualTo("https");
    assertThat(mountedFrom(pod, container, edge.escalation().tlsDir())).isEqualTo("secret:infermesh-edge-tls");
    assertThat(mountedFrom(pod, container, edge.model().path().getParent())).isEqualTo("emptyDir");
    assertCommandLinesParseAndConfigsAreMounted(pod);
    assertServiceSelects(workload("Service", "infermesh-edge"), pod);
    // the escalation target is the headless core Service, on the core's gRPC port
    URI target = URI.create(edge.escalation().target().orElseThrow());
    assertThat(target.getScheme()).isEqualTo("dns");
    assertThat(target.getPath().substring(1)).isEqualTo("infermesh-core.infermesh.svc.cluster.local:" + core.grpcPort());
  }

  /** Every container's args parse as an infermesh command line; a --config file is a mounted key. */
  private static void assertCommandLinesParseAndConfigsAreMounted(JsonNode pod) {
    List<JsonNode> containers = new ArrayList<>();
    pod.at("/spec/initContainers").forEach(containers::add);
    pod.at("/spec/containers").forEach(containers::add);
    for (JsonNode c : containers) {
      String[] args = StreamSupport.stream(c.path("args").spliterator(), false).map(JsonNode::asText)
          .toArray(String[]::new);
      var parsed = Main.newCommandLine().parseArgs(args); // throws on an unknown command or option
      Path config = parsed.subcommand().matchedOptionValue("--config", (Path) null);
      if (config != null) {
        assertThat(mountedFrom(pod, c, config)).as("%s's --config", c.path("name")).matches("(configMap|secret):.+");
      }
      assertThat(c.path("image").asText()).isEqualTo("infermesh:0.1.0");
    }
  }

  private static void assertServiceSelects(JsonNode service, JsonNode pod) {
    service.at("/spec/selector").fields().forEachRemaining(e ->
        assertThat(pod.at("/metadata/labels").path(e.getKey()).asText()).isEqualTo(e.getValue().asText()));
    for (JsonNode p : service.at("/spec/ports")) {
      String target = p.path("targetPort").asText();
      boolean declared = false;
      for (JsonNode c : pod.at("/spec/containers")) {
        for (JsonNode cp : c.path("ports")) {
          declared |= cp.path("name").asText().equals(target);
        }
      }
      assertThat(declared).as("targetPort %s is a container port", target).isTrue();
    }
  }

  /** The source of the volume mounted at {@code path} (or above it): "secret:NAME", "configMap:NAME" or "emptyDir". */
  private static String mountedFrom(JsonNode pod, JsonNode container, Path path) {
    for (JsonNode m : container.path("volumeMounts")) {
      if (path.startsWith(Path.of(m.path("mountPath").asText()))) {
        String volume = m.path("name").asText();
        for (JsonNode v : pod.at("/spec/volumes")) {
          if (v.path("name").asText().equals(volume)) {
            if (v.has("secret")) {
              return "secret:" + v.at("/secret/secretName").asText();
            }
            if (v.has("configMap")) {
              return "configMap:" + v.at("/configMap/name").asText();
            }
            return v.has("emptyDir") ? "emptyDir" : v.toString();
          }
        }
      }
    }
    return "nothing at " + path;
  }

  private static int port(JsonNode container, String name) {
    for (JsonNode p : container.path("ports")) {
      if (p.path("name").asText().equals(name)) {
        return p.path("containerPort").asInt();
      }
    }
    throw new AssertionError("no port named " + name + " in " + container.path("name"));
  }

  private static JsonNode container(JsonNode pod, String name) {
    for (JsonNode c : pod.at("/spec/containers")) {
      if (c.path("name").asText().equals(name)) {
        return c;
      }
    }
    throw new AssertionError("no container " + name);
  }

  private static JsonNode workload(String kind, String name) {
    Optional<JsonNode> found = docs.stream()
        .filter(d -> d.path("kind").asText().equals(kind) && d.at("/metadata/name").asText().equals(name))
        .findFirst();
    return found.orElseThrow(() -> new AssertionError("no " + kind + " " + name));
  }

  /** A file held by a ConfigMap ({@code data}) or Secret ({@code stringData}). */
  private static String file(String kind, String name, String key) {
    JsonNode d = workload(kind, name);
    JsonNode text = kind.equals("Secret") ? d.at("/stringData/" + key) : d.at("/data/" + key);
    assertThat(text.isTextual()).as("%s %s holds %s", kind, name, key).isTrue();
    return text.asText();
  }
}
