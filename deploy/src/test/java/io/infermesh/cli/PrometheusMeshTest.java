package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.cli.ObservabilityFiles.AdapterRule;
import io.infermesh.cli.ObservabilityFiles.AlertRule;
import io.infermesh.cli.ObservabilityFiles.PanelQuery;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.Batches;
import io.infermesh.edge.config.EdgeConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The dashboards, alerts and autoscaling rules against a real Prometheus (Debian's package, started
 * here on a free port with its TSDB in a temp dir) scraping a real mesh every second: {@code infermesh
 * up}'s core, control plane and edge, plus a second edge with the response cache on. The scrape
 * configuration is the committed {@code prometheus.yml} with this mesh's ports, the rules the
 * committed {@code alerts.yml}; every query is read from the committed files.
 *
 * <p>Traffic: two rounds through every route (edge, core, cache, and a refusal), each scraped before
 * the next, so that rates are over real increases; then {@code healthy} is noted. Then the core is
 * stopped and two requests the router sends to the core are answered degraded, each scraped; then
 * {@code degraded} is noted. Queries are evaluated at those two instants afterwards.
 *
 * <p>Runs in its own fork (see deploy's pom): the mesh's control plane sets the JVM's grpc-xds bootstrap.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrometheusMeshTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  /** What {@code $__rate_interval} becomes: wide enough for both rounds of traffic at 1 s scrapes. */
  private static final String RATE_INTERVAL = "2m";
  private static final String HARD_PROMPT =
      "Explain step by step why this code is slow and prove the bound: ```for (i = 0; i < n; i++) {}```";
  /**
   * Alerts on latency: whether they fire depends on how fast this machine is, not on the mesh's
   * health, so they are left out of the "none fires while healthy" check (their watched part is not).
   */
  private static final Set<String> MACHINE_DEPENDENT = Set.of("InfermeshTimeToFirstTokenP99High");
  /** Alerts that must fire once the core is stopped and edges answer degraded. */
  private static final Set<String> FIRE_WITHOUT_CORE = Set.of("InfermeshTargetDown", "InfermeshCoreUnreachable",
      "InfermeshDegradedAnswers");

  private Path dir;
  private MeshUp mesh;
  private EdgeAgent cachingEdge;
  private PrometheusServer prometheus;
  private Instant healthy;
  private Instant degraded;

  @BeforeAll
  void startMeshPrometheusAndTraffic() throws Exception {
    PrometheusServer.binary("prometheus"); // fail before starting a mesh
    dir = Files.createTempDirectory("prometheus-mesh");
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(), d.routing(), Duration.ofSeconds(30))
        .withControl(new MeshUp.Control(0, 0)));
    EdgeConfig edge = mesh.edge().config();
    // a second edge beside up's: its own port, the cache on, and no batch store (up's edge holds that directory)
    cachingEdge = EdgeAgent.builder(edge.withHttpPort(0)
        .withCache(new EdgeConfig.Cache(true, 1 << 20, Duration.ofMinutes(10))).withBatch(Batches.NONE)).start();
    cachingEdge.awaitModel(Duration.ofMinutes(2));
    Files.createDirectories(dir.resolve("prometheus"));
    prometheus = PrometheusServer.start(dir.resolve("prometheus"), scrapeConfig());

    for (int round = 0; round < 2; round++) {
      trafficThroughEveryRoute(round);
      awaitScrapedAfter(Instant.now(), Set.of("infermesh-edge", "infermesh-core", "infermesh-control"));
    }
    healthy = Instant.now();

    mesh.stopCore();
    for (int round = 0; round < 2; round++) {
      HttpResponse<String> r = chat(base(cachingEdge), "auto", HARD_PROMPT + " #" + round, 0.7, Map.of());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-infermesh-route")).hasValue("edge-degraded");
      awaitScrapedAfter(Instant.now(), Set.of("infermesh-edge", "infermesh-control"));
    }
    // the edges notice the core is gone on their own (their channel), not only by a failed call
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() ->
        !prometheus.query("min(infermesh_escalation_core_available) == 0", Instant.now()).isEmpty()
            && !prometheus.query("up{job=\"infermesh-core\"} == 0", Instant.now()).isEmpty());
    degraded = Instant.now();
  }

  @AfterAll
  void stop() throws Exception {
    if (prometheus != null) {
      prometheus.close();
    }
    if (cachingEdge != null) {
      cachingEdge.close();
    }
    if (mesh != null) {
      mesh.close();
    }
    try (var files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void dashboards_everyPanelQuery_returnsNumbersFromTheRunningMesh() throws Exception {
    Set<String> pending = Set.copyOf(ObservabilityFiles.inventory().get(ObservabilityFiles.PENDING));
    List<String> empty = new ArrayList<>();
    int checked = 0;
    for (PanelQuery q : ObservabilityFiles.panelQueries()) {
      String promql = q.promql(RATE_INTERVAL);
      JsonNode atHealthy = prometheus.query(promql, healthy);
      JsonNode atDegraded = prometheus.query(promql, degraded);
      if (pending.containsAll(ObservabilityFiles.metricNames(promql))) {
        // exported only during a rollout: rolloutOnlySeries_areAbsentWithoutARollout
        assertThat(atHealthy).as("%s (pending)", q).isEmpty();
        continue;
      }
      // degraded answers exist only once the core is gone; everything else already while healthy
      if (!hasANumber(atHealthy) && !hasANumber(atDegraded)) {
        empty.add(q + " → " + atHealthy + " / " + atDegraded);
      }
      checked++;
    }
    assertThat(empty).as("panel queries with no number at %s or %s", healthy, degraded).isEmpty();
    assertThat(checked).isGreaterThan(30);
  }

  @Test
  void alerts_whileHealthy_noneFiresButWhatEachWatchesHasData() throws Exception {
    for (AlertRule r : ObservabilityFiles.alertRules()) {
      assertThat(hasANumber(prometheus.query(r.watched(), healthy))).as("%s watches: %s", r.name(), r.watched())
          .isTrue();
      if (!MACHINE_DEPENDENT.contains(r.name())) {
        assertThat(prometheus.query(r.expr(), healthy)).as("%s fires while healthy", r.name()).isEmpty();
      }
    }
  }

  @Test
  void alerts_withTheCoreStopped_coreDownUnreachableAndDegradedFire() throws Exception {
    Map<String, JsonNode> fired = new LinkedHashMap<>();
    for (AlertRule r : ObservabilityFiles.alertRules()) {
      if (FIRE_WITHOUT_CORE.contains(r.name())) {
        fired.put(r.name(), prometheus.query(r.expr(), degraded));
      }
    }
    assertThat(fired.keySet()).containsExactlyInAnyOrderElementsOf(FIRE_WITHOUT_CORE);
    fired.forEach((name, result) -> assertThat(result).as("%s with the core stopped", name).isNotEmpty());
    assertThat(fired.get("InfermeshTargetDown")).singleElement()
        .satisfies(s -> assertThat(s.at("/metric/job").asText()).isEqualTo("infermesh-core"));
  }

  @Test
  void rules_loadedByPrometheus_evaluateWithoutErrors() throws Exception {
    JsonNode groups = prometheus.get("/api/v1/rules").at("/data/groups");
    List<String> names = new ArrayList<>();
    for (JsonNode g : groups) {
      for (JsonNode rule : g.path("rules")) {
        names.add(rule.path("name").asText());
        assertThat(rule.path("health").asText()).as("%s: %s", rule.path("name"), rule.path("lastError")).isEqualTo("ok");
      }
    }
    assertThat(names).containsExactlyInAnyOrderElementsOf(
        ObservabilityFiles.alertRules().stream().map(AlertRule::name).toList());
  }

  @Test
  void inventory_everyListedSeries_isExportedByItsJob() throws Exception {
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, List<String>> job : ObservabilityFiles.inventory().entrySet()) {
      if (job.getKey().equals(ObservabilityFiles.PENDING)) {
        continue;
      }
      for (String name : job.getValue()) {
        String q = "count({__name__=\"" + name + "\",job=\"" + job.getKey() + "\"})";
        if (prometheus.query(q, healthy).isEmpty()) {
          missing.add(job.getKey() + " " + name);
        }
      }
    }
    assertThat(missing).as("series in %s that no scrape had", ObservabilityFiles.INVENTORY).isEmpty();
  }

  @Test
  void rolloutOnlySeries_areAbsentWithoutARollout() throws Exception {
    for (String name : ObservabilityFiles.inventory().get(ObservabilityFiles.PENDING)) {
      for (Instant t : List.of(healthy, degraded)) {
        assertThat(prometheus.query("count({__name__=\"" + name + "\"})", t))
            .as("%s is exported without a rollout configured: move it from `pending` to its job in %s", name,
                ObservabilityFiles.INVENTORY)
            .isEmpty();
      }
    }
  }

  @Test
  void autoscaling_adapterQueries_returnAValuePerProcess() throws Exception {
    for (AdapterRule r : ObservabilityFiles.adapterRules()) {
      String job = r.seriesName().startsWith("infermesh_core_") ? "infermesh-core" : "infermesh-edge";
      // here instance stands for the pod, job for the namespace: the labels the adapter groups and matches by
      String q = r.render("job=\"" + job + "\"", "instance");
      JsonNode result = prometheus.query(q, healthy);
      assertThat(hasANumber(result)).as("%s: %s → %s", r.exposedAs(), q, result).isTrue();
      for (JsonNode sample : result) {
        assertThat(sample.at("/metric/instance").asText()).as(q).isNotEmpty();
      }
    }
  }

  /** Round 0 creates the series, round 1 moves them: rates then have something to measure. */
  private void trafficThroughEveryRoute(int round) throws Exception {
    String edgeBase = base(cachingEdge);
    assertRoute(chat(edgeBase, "edge", "Tell me a joke #" + round, 0.7, Map.of()), "edge");
    assertRoute(chat(edgeBase, "core", "Tell me a short story #" + round, 0.7, Map.of()), "core");
    assertRoute(chat(edgeBase, "auto", "Hi there #" + round, 0.7, Map.of("x-infermesh-require", "core")), "core");
    // temperature 0 is cacheable: the first ever is a miss, every later one a hit
    chat(edgeBase, "edge", "What is the capital of France?", 0, Map.of());
    assertRoute(chat(edgeBase, "edge", "What is the capital of France?", 0, Map.of()), "cache");
    // the mesh's own edge too, so that both edges have traffic
    assertRoute(chat(mesh.edgeUrl(), "core", "Say hello #" + round, 0.7, Map.of()), "core");
    HttpResponse<String> refused = chat(edgeBase, "edge", "x", -1, Map.of());
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
  }

  private static void assertRoute(HttpResponse<String> r, String route) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-infermesh-route")).as(r.body()).hasValue(route);
  }

  /**
   * Waits until Prometheus has finished a scrape of every target of {@code jobs} that began after
   * {@code sent} (the end of the traffic it must see: a scrape begun during it may miss its last requests).
   */
  private void awaitScrapedAfter(Instant sent, Set<String> jobs) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      JsonNode targets = prometheus.get("/api/v1/targets?state=active").at("/data/activeTargets");
      int seen = 0;
      for (JsonNode t : targets) {
        String job = t.at("/labels/job").asText();
        if (jobs.contains(job)) {
          seen++;
          Instant last = Instant.parse(t.path("lastScrape").asText());
          assertThat(last).as("%s %s last scraped (%s)", job, t.path("scrapeUrl"), t.path("lastError")).isAfter(sent);
          assertThat(t.path("health").asText()).as("%s %s: %s", job, t.path("scrapeUrl"), t.path("lastError"))
              .isEqualTo("up");
        }
      }
      assertThat(seen).as("targets of %s", jobs).isGreaterThanOrEqualTo(jobs.size());
    });
  }

  /** The committed prometheus.yml, scraping this mesh every second and loading the committed alerts. */
  private String scrapeConfig() throws IOException {
    ObjectNode config = (ObjectNode) ObservabilityFiles.YAML.readTree(ObservabilityFiles.PROMETHEUS_CONFIG.toFile());
    ((ObjectNode) config.path("global")).put("scrape_interval", "1s").put("evaluation_interval", "1s");
    ArrayNode rules = config.putArray("rule_files");
    rules.add(ObservabilityFiles.ALERTS.toAbsolutePath().toString());
    Map<String, List<String>> targets = Map.of(
        "infermesh-edge", List.of(hostPort(mesh.edge().httpPort()), hostPort(cachingEdge.httpPort())),
        "infermesh-core", List.of(hostPort(mesh.core().metricsPort())),
        "infermesh-control", List.of(hostPort(mesh.controlPlane().orElseThrow().adminPort())));
    List<String> jobs = new ArrayList<>();
    for (JsonNode job : config.path("scrape_configs")) {
      String name = job.path("job_name").asText();
      jobs.add(name);
      ArrayNode list = ((ObjectNode) job).putArray("static_configs").addObject().putArray("targets");
      targets.getOrDefault(name, List.of()).forEach(list::add);
      ((ObjectNode) job).put("scrape_timeout", "1s");
    }
    assertThat(jobs).as("jobs of %s", ObservabilityFiles.PROMETHEUS_CONFIG)
        .containsExactlyInAnyOrderElementsOf(targets.keySet());
    return ObservabilityFiles.YAML.writeValueAsString(config);
  }

  private static String hostPort(int port) {
    assertThat(port).isPositive();
    return MeshUp.LOOPBACK + ":" + port;
  }

  private static String base(EdgeAgent edge) {
    return "http://" + MeshUp.LOOPBACK + ":" + edge.httpPort();
  }

  /** At least one sample whose value is a number (not NaN: a ratio or quantile of nothing is NaN). */
  private static boolean hasANumber(JsonNode result) {
    for (JsonNode sample : result) {
      String v = sample.at("/value/1").asText();
      if (!v.equals("NaN") && !v.isEmpty()) {
        return true;
      }
    }
    return false;
  }

  private static HttpResponse<String> chat(String base, String model, String content, double temperature,
      Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
        .header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(60))
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + model + "\", \"temperature\": " + temperature
            + ", \"messages\": [{\"role\": \"user\", \"content\": \"" + content + "\"}], \"max_tokens\": 4}"));
    headers.forEach(b::header);
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
