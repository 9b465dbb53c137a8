package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The committed observability files read as their consumers read them: the PromQL of every Grafana
 * panel ({@code grafana/*.json}), every alert rule ({@code prometheus/alerts.yml}), every
 * prometheus-adapter rule ({@code k8s/autoscaling.yaml}) and the series inventory ({@code
 * prometheus/metrics.yml}). Paths are relative to the deploy module, where tests run.
 */
final class ObservabilityFiles {
  static final ObjectMapper JSON = new ObjectMapper();
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final Path GRAFANA = Path.of("grafana");
  static final Path PROMETHEUS_CONFIG = Path.of("prometheus/prometheus.yml");
  static final Path ALERTS = Path.of("prometheus/alerts.yml");
  static final Path ALERT_TESTS = Path.of("prometheus/alerts.test.yml");
  static final Path INVENTORY = Path.of("prometheus/metrics.yml");
  static final Path AUTOSCALING = Path.of("k8s/autoscaling.yaml");
  /** The inventory key of the series no job exports yet. */
  static final String PENDING = "pending";

  private static final Pattern TRAILING_COMPARISON =
      Pattern.compile("^(.*?)\\s*(==|!=|>=|<=|>|<)\\s*([0-9.]+)\\s*$", Pattern.DOTALL);
  private static final Pattern GROUPING = Pattern.compile(
      "\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
      "and", "or", "unless", "bool", "offset");

  private ObservabilityFiles() {}

  /** One panel's query: the dashboard file, the panel title, the PromQL as Grafana sends it. */
  record PanelQuery(String dashboard, String panel, String expr) {
    /** The PromQL with Grafana's {@code $__rate_interval} replaced by {@code rateInterval}. */
    String promql(String rateInterval) {
      return expr.replace("$__rate_interval", rateInterval);
    }

    @Override
    public String toString() {
      return dashboard + " / " + panel + ": " + expr;
    }
  }

  /** One alerting rule. */
  record AlertRule(String name, String expr, JsonNode rule) {
    /**
     * The part left of the final comparison with a constant ({@code up == 0} gives {@code up}): what
     * the alert watches, which returns data whether or not the alert fires.
     */
    String watched() {
      Matcher m = TRAILING_COMPARISON.matcher(expr.strip());
      if (!m.matches()) {
        throw new AssertionError("alert " + name + ": its expression should end in a comparison with a constant"
            + " (e.g. `> 0`), so that what it watches can be checked on its own: " + expr);
      }
      return m.group(1);
    }
  }

  /** One prometheus-adapter rule, its metricsQuery with the adapter's template still in it. */
  record AdapterRule(String seriesQuery, String exposedAs, String metricsQuery, JsonNode rule) {
    /** The metric the rule discovers series by ({@code seriesQuery} without its label matchers). */
    String seriesName() {
      return seriesQuery.replaceAll("\\{.*", "").strip();
    }

    /** The metricsQuery as the adapter renders it for {@code matchers} grouped by {@code groupBy}. */
    String render(String matchers, String groupBy) {
      return metricsQuery.replace("<<.Series>>", seriesName()).replace("<<.LabelMatchers>>", matchers)
          .replace("<<.GroupBy>>", groupBy);
    }
  }

  static List<Path> dashboards() throws IOException {
    try (Stream<Path> files = Files.list(GRAFANA)) {
      List<Path> found = files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
      assertThat(found).as("dashboards in %s", GRAFANA.toAbsolutePath()).isNotEmpty();
      return found;
    }
  }

  static List<PanelQuery> panelQueries() throws IOException {
    List<PanelQuery> queries = new ArrayList<>();
    for (Path file : dashboards()) {
      for (JsonNode panel : JSON.readTree(file.toFile()).path("panels")) {
        for (JsonNode target : panel.path("targets")) {
          queries.add(new PanelQuery(file.getFileName().toString(), panel.path("title").asText(),
              target.path("expr").asText()));
        }
      }
    }
    return queries;
  }

  static List<AlertRule> alertRules() throws IOException {
    List<AlertRule> rules = new ArrayList<>();
    for (JsonNode group : YAML.readTree(ALERTS.toFile()).path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        if (rule.has("alert")) {
          rules.add(new AlertRule(rule.path("alert").asText(), rule.path("expr").asText(), rule));
        }
      }
    }
    assertThat(rules).as("alerts in %s", ALERTS).isNotEmpty();
    return rules;
  }

  /** The documents of {@code k8s/autoscaling.yaml}. */
  static List<JsonNode> autoscalingDocuments() throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (var it = YAML.readerFor(JsonNode.class).readValues(AUTOSCALING.toFile())) {
      while (it.hasNext()) {
        docs.add((JsonNode) it.next());
      }
    }
    return docs;
  }

  static List<AdapterRule> adapterRules() throws IOException {
    JsonNode configMap = autoscalingDocuments().stream()
        .filter(d -> d.path("kind").asText().equals("ConfigMap")
            && d.at("/metadata/name").asText().equals("infermesh-prometheus-adapter"))
        .findFirst().orElseThrow(() -> new AssertionError("no ConfigMap infermesh-prometheus-adapter in " + AUTOSCALING));
    JsonNode config = YAML.readTree(configMap.at("/data/config.yaml").asText());
    List<AdapterRule> rules = new ArrayList<>();
    for (JsonNode r : config.path("rules")) {
      rules.add(new AdapterRule(r.path("seriesQuery").asText(), r.at("/name/as").asText(),
          r.path("metricsQuery").asText(), r));
    }
    assertThat(rules).as("adapter rules").isNotEmpty();
    return rules;
  }

  /** {@code prometheus/metrics.yml}: series by job, and {@value #PENDING}. */
  static Map<String, List<String>> inventory() throws IOException {
    Map<String, List<String>> byJob = new LinkedHashMap<>();
    YAML.readTree(INVENTORY.toFile()).fields().forEachRemaining(e -> {
      List<String> names = new ArrayList<>();
      e.getValue().forEach(n -> names.add(n.asText()));
      byJob.put(e.getKey(), names);
    });
    return byJob;
  }

  /** Every metric name {@code promql} reads (a crude lexer: no strings, label matchers, groupings or ranges). */
  static Set<String> metricNames(String promql) {
    String s = promql.replaceAll("<<[^>]*>>", " ")
        .replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
        .replaceAll("\\{[^}]*\\}", " ")
        .replaceAll("\\[[^\\]]*\\]", " ");
    s = GROUPING.matcher(s).replaceAll(" ");
    Set<String> names = new TreeSet<>();
    Matcher m = IDENTIFIER.matcher(s);
    while (m.find()) {
      String id = m.group();
      int next = m.end();
      while (next < s.length() && s.charAt(next) == ' ') {
        next++;
      }
      boolean call = next < s.length() && s.charAt(next) == '(';
      if (!call && !KEYWORDS.contains(id)) {
        names.add(id);
      }
    }
    return names;
  }
}
