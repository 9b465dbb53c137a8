package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermesh.cli.ObservabilityFiles.AdapterRule;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.CoreConfigLoader;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.EdgeConfigLoader;
import io.infermesh.edge.http.HttpBindAddress;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/k8s/infermesh.yaml} without a cluster: the documents' shape, the embedded configs
 * through the real loaders, every container's arguments through the real command tree, and ports,
 * probes, selectors and mounts checked against each other and against the configs. And {@code
 * deploy/k8s/autoscaling.yaml}: its PodMonitors, prometheus-adapter rules and autoscalers checked
 * against the workloads they scale, the scrape jobs, and the series inventory that {@link
 * PrometheusMeshTest} checks against a running mesh.
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

  @Test
  void autoscaling_documentsAreThePodMonitorsAdapterRulesAndAutoscalers() throws Exception {
    List<JsonNode> scaling = ObservabilityFiles.autoscalingDocuments();
    assertThat(scaling).extracting(d -> d.path("kind").asText() + " " + d.at("/metadata/name").asText())
        .containsExactly("PodMonitor infermesh-core", "PodMonitor infermesh-edge", "ConfigMap infermesh-prometheus-adapter",
            "HorizontalPodAutoscaler infermesh-core", "HorizontalPodAutoscaler infermesh-edge");
    for (JsonNode d : scaling) {
      String kind = d.path("kind").asText();
      assertThat(d.path("apiVersion").asText()).as(kind).isEqualTo(switch (kind) {
        case "PodMonitor" -> "monitoring.coreos.com/v1";
        case "HorizontalPodAutoscaler" -> "autoscaling/v2";
        default -> "v1";
      });
      if (!kind.equals("ConfigMap")) { // the adapter's ConfigMap lives where the adapter runs
        assertThat(d.at("/metadata/namespace").asText()).as(kind).isEqualTo("infermesh");
      }
    }
  }

  @Test
  void podMonitors_scrapeEachWorkloadsMetricsPortAsTheJobTheAlertsAndDashboardsSelect() throws Exception {
    Set<String> jobs = new HashSet<>();
    ObservabilityFiles.YAML.readTree(ObservabilityFiles.PROMETHEUS_CONFIG.toFile()).path("scrape_configs")
        .forEach(j -> jobs.add(j.path("job_name").asText()));
    for (JsonNode monitor : kind(ObservabilityFiles.autoscalingDocuments(), "PodMonitor")) {
      JsonNode pod = podSelectedBy(monitor.at("/spec/selector/matchLabels"));
      String job = pod.at("/metadata/labels").path(monitor.at("/spec/jobLabel").asText()).asText();
      assertThat(jobs).as("the job %s (label %s)", job, monitor.at("/spec/jobLabel")).contains(job);
      JsonNode endpoint = monitor.at("/spec/podMetricsEndpoints/0");
      JsonNode container = pod.at("/spec/containers/0");
      // the same port and scheme as the pod's prometheus.io annotations
      assertThat(String.valueOf(port(container, endpoint.path("port").asText())))
          .isEqualTo(pod.at("/metadata/annotations/prometheus.io~1port").asText());
      assertThat(endpoint.path("scheme").asText("http"))
          .isEqualTo(pod.at("/metadata/annotations/prometheus.io~1scheme").asText("http"));
      assertThat(endpoint.path("path").asText()).isEqualTo("/metrics");
    }
  }

  @Test
  void autoscalers_scaleTheWorkloadsOnAdapterMetricsTheirJobExports() throws Exception {
    Map<String, List<String>> inventory = ObservabilityFiles.inventory();
    Map<String, AdapterRule> exposed = new HashMap<>();
    for (AdapterRule r : ObservabilityFiles.adapterRules()) {
      assertThat(exposed.put(r.exposedAs(), r)).as("adapter metric %s exposed once", r.exposedAs()).isNull();
      // the labels the PodMonitors get from the operator map to the HPA's objects
      assertThat(r.rule().at("/resources/overrides/namespace/resource").asText()).isEqualTo("namespace");
      assertThat(r.rule().at("/resources/overrides/pod/resource").asText()).isEqualTo("pod");
      assertThat(r.seriesQuery()).contains("namespace!=\"\"", "pod!=\"\"");
      assertThat(r.metricsQuery()).contains("<<.LabelMatchers>>", "<<.GroupBy>>");
      assertThat(r.seriesName()).matches(r.rule().at("/name/matches").asText());
    }
    Set<String> used = new HashSet<>();
    for (JsonNode hpa : kind(ObservabilityFiles.autoscalingDocuments(), "HorizontalPodAutoscaler")) {
      JsonNode ref = hpa.at("/spec/scaleTargetRef");
      JsonNode target = workload(ref.path("kind").asText(), ref.path("name").asText());
      assertThat(ref.path("apiVersion").asText()).isEqualTo(target.path("apiVersion").asText());
      String job = target.at("/spec/template/metadata/labels/app.kubernetes.io~1name").asText();
      int min = hpa.at("/spec/minReplicas").asInt();
      assertThat(min).as("%s minReplicas", ref.path("name")).isPositive()
          .isLessThanOrEqualTo(hpa.at("/spec/maxReplicas").asInt());
      docs.stream().filter(d -> d.path("kind").asText().equals("PodDisruptionBudget")
              && d.at("/spec/selector/matchLabels").equals(target.at("/spec/selector/matchLabels")))
          .forEach(pdb -> assertThat(min).as("minReplicas above the PodDisruptionBudget's minAvailable")
              .isGreaterThan(pdb.at("/spec/minAvailable").asInt()));
      assertThat(hpa.at("/spec/metrics")).as("%s metrics", ref.path("name")).isNotEmpty();
      for (JsonNode m : hpa.at("/spec/metrics")) {
        assertThat(m.path("type").asText()).isEqualTo("Pods");
        String name = m.at("/pods/metric/name").asText();
        AdapterRule rule = exposed.get(name);
        assertThat(rule).as("an adapter rule exposes %s", name).isNotNull();
        used.add(name);
        assertThat(inventory.get(job)).as("series of %s's adapter rule, exported by %s", name, job)
            .containsAll(ObservabilityFiles.metricNames(rule.render("namespace=\"infermesh\"", "pod")))
            .contains(rule.seriesName());
        assertThat(m.at("/pods/target/type").asText()).isEqualTo("AverageValue");
        assertThat(m.at("/pods/target/averageValue").asText()).matches("[0-9]+m?");
      }
    }
    assertThat(used).as("every adapter rule serves an autoscaler").isEqualTo(exposed.keySet());
  }

  private static List<JsonNode> kind(List<JsonNode> documents, String kind) {
    List<JsonNode> found = documents.stream().filter(d -> d.path("kind").asText().equals(kind)).toList();
    assertThat(found).as("%s documents", kind).isNotEmpty();
    return found;
  }

  /** The pod template of the workload in infermesh.yaml whose labels {@code matchLabels} select. */
  private static JsonNode podSelectedBy(JsonNode matchLabels) {
    List<JsonNode> pods = new ArrayList<>();
    for (JsonNode d : docs) {
      JsonNode labels = d.at("/spec/template/metadata/labels");
      if (!labels.isMissingNode() && matchLabels.size() > 0) {
        boolean all = true;
        for (var it = matchLabels.fields(); it.hasNext();) {
          var e = it.next();
          all &= labels.path(e.getKey()).asText().equals(e.getValue().asText());
        }
        if (all) {
          pods.add(d.at("/spec/template"));
        }
      }
    }
    assertThat(pods).as("pods selected by %s", matchLabels).hasSize(1);
    return pods.get(0);
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
