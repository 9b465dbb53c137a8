package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermesh.cli.ObservabilityFiles.AdapterRule;
import io.infermesh.cli.ObservabilityFiles.AlertRule;
import io.infermesh.cli.ObservabilityFiles.PanelQuery;
import io.infermesh.core.config.CoreConfigLoader;
import io.infermesh.edge.config.EdgeConfigLoader;
import io.infermesh.xds.config.MeshConfigLoader;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/prometheus/} and {@code deploy/grafana/} as the real tools read them: Debian's
 * {@code promtool} checks the scrape configuration and the alert rules and runs the rules' unit tests;
 * every series a dashboard, an alert or an autoscaling rule reads is in the inventory ({@code
 * prometheus/metrics.yml}), which {@link PrometheusMeshTest} checks against a running mesh.
 */
class PrometheusConfigTest {
  private static final Path PROMETHEUS_DIR = ObservabilityFiles.ALERTS.getParent();

  @Test
  void promtool_checkConfig_acceptsTheScrapeConfigAndTheRulesItLoads() throws Exception {
    String out = PrometheusServer.promtool(PROMETHEUS_DIR, "check", "config",
        ObservabilityFiles.PROMETHEUS_CONFIG.getFileName().toString());
    assertThat(out).contains("SUCCESS: 1 rule files found", "is valid prometheus config file syntax");
  }

  @Test
  void scrapeConfig_targetsThePortsOfTheAnnotatedConfigs() throws Exception {
    Map<String, String> targets = new TreeMap<>();
    ObservabilityFiles.YAML.readTree(ObservabilityFiles.PROMETHEUS_CONFIG.toFile()).path("scrape_configs")
        .forEach(j -> targets.put(j.path("job_name").asText(), j.at("/static_configs/0/targets/0").asText()));
    assertThat(targets).containsExactlyInAnyOrderEntriesOf(Map.of(
        "infermesh-edge", "127.0.0.1:" + EdgeConfigLoader.load(Path.of("edge.yaml")).http().port(),
        "infermesh-core", "127.0.0.1:" + CoreConfigLoader.load(Path.of("core.yaml")).metricsPort(),
        "infermesh-control", "127.0.0.1:" + MeshConfigLoader.load(Path.of("mesh.yaml")).control().adminPort()));
  }

  @Test
  void promtool_checkRules_acceptsEveryAlertRule() throws Exception {
    String out = PrometheusServer.promtool(PROMETHEUS_DIR, "check", "rules",
        ObservabilityFiles.ALERTS.getFileName().toString());
    assertThat(out).contains("SUCCESS: " + ObservabilityFiles.alertRules().size() + " rules found");
  }

  @Test
  void promtool_testRules_everyAlertFiresWhenItShouldAndNotBefore() throws Exception {
    PrometheusServer.promtool(PROMETHEUS_DIR, "test", "rules", ObservabilityFiles.ALERT_TESTS.getFileName().toString());
    // every alert is exercised by the unit tests
    JsonNode tests = ObservabilityFiles.YAML.readTree(ObservabilityFiles.ALERT_TESTS.toFile());
    Set<String> tested = new TreeSet<>();
    for (JsonNode t : tests.path("tests")) {
      t.path("alert_rule_test").forEach(a -> {
        if (!a.path("exp_alerts").isEmpty()) {
          tested.add(a.path("alertname").asText());
        }
      });
    }
    assertThat(tested).as("alerts with a firing case in %s", ObservabilityFiles.ALERT_TESTS)
        .containsAll(ObservabilityFiles.alertRules().stream().map(AlertRule::name).toList());
  }

  @Test
  void alerts_eachHasASeveritySummaryAndAWatchedExpression() throws Exception {
    Set<String> names = new HashSet<>();
    for (AlertRule r : ObservabilityFiles.alertRules()) {
      assertThat(names.add(r.name())).as("alert names are unique: %s", r.name()).isTrue();
      assertThat(r.name()).startsWith("Infermesh");
      assertThat(r.rule().at("/labels/severity").asText()).as(r.name()).isIn("warning", "critical");
      assertThat(r.rule().at("/annotations/summary").asText()).as(r.name()).isNotBlank();
      assertThat(r.rule().at("/annotations/description").asText()).as(r.name()).isNotBlank();
      assertThat(r.watched()).as(r.name()).isNotBlank();
    }
  }

  @Test
  void dashboards_haveUniqueIdsAndQueryTheDatasourceVariable() throws Exception {
    Set<String> uids = new HashSet<>();
    for (Path file : ObservabilityFiles.dashboards()) {
      JsonNode d = ObservabilityFiles.JSON.readTree(file.toFile());
      assertThat(uids.add(d.path("uid").asText())).as("%s: uid %s is unique", file, d.path("uid")).isTrue();
      assertThat(d.path("title").asText()).as("%s title", file).startsWith("infermesh / ");
      assertThat(d.at("/templating/list/0/type").asText()).as("%s: a datasource variable", file).isEqualTo("datasource");
      Set<Integer> ids = new HashSet<>();
      for (JsonNode p : d.path("panels")) {
        assertThat(ids.add(p.path("id").asInt())).as("%s: panel id %s is unique", file, p.path("id")).isTrue();
        if (p.path("type").asText().equals("row")) {
          continue;
        }
        assertThat(p.path("targets")).as("%s / %s has queries", file, p.path("title")).isNotEmpty();
        assertThat(p.path("description").asText()).as("%s / %s", file, p.path("title")).isNotBlank();
        for (JsonNode t : p.path("targets")) {
          assertThat(t.at("/datasource/uid").asText()).as("%s / %s", file, p.path("title")).isEqualTo("${datasource}");
          assertThat(t.path("expr").asText()).as("%s / %s", file, p.path("title")).isNotBlank();
        }
      }
    }
  }

  @Test
  void inventory_listsEverySeriesTheDashboardsAlertsAndAutoscalingRead() throws Exception {
    Map<String, List<String>> inventory = ObservabilityFiles.inventory();
    assertThat(inventory).containsKeys("infermesh-edge", "infermesh-core", "infermesh-control",
        ObservabilityFiles.PENDING);
    Set<String> known = new HashSet<>(Set.of("up"));
    inventory.values().forEach(known::addAll);
    Map<String, Set<String>> unknown = new TreeMap<>();
    Map<String, String> queries = new LinkedHashMap<>(); // where → PromQL
    for (PanelQuery q : ObservabilityFiles.panelQueries()) {
      queries.put(q.toString(), q.expr());
    }
    for (AlertRule r : ObservabilityFiles.alertRules()) {
      queries.put("alert " + r.name(), r.expr());
    }
    for (AdapterRule r : ObservabilityFiles.adapterRules()) {
      queries.put("adapter rule " + r.exposedAs() + " (seriesQuery)", r.seriesQuery());
      queries.put("adapter rule " + r.exposedAs() + " (metricsQuery)", r.render("namespace=\"infermesh\"", "pod"));
    }
    queries.forEach((where, promql) -> {
      Set<String> names = new TreeSet<>(ObservabilityFiles.metricNames(promql));
      assertThat(names).as("series read by %s", where).isNotEmpty();
      names.removeAll(known);
      if (!names.isEmpty()) {
        unknown.put(where, names);
      }
    });
    assertThat(unknown).as("series read but not in %s", ObservabilityFiles.INVENTORY).isEmpty();
  }

  @Test
  void metricNames_readsSeriesNotLabelsFunctionsOrGroupings() {
    assertThat(ObservabilityFiles.metricNames("histogram_quantile(0.99, sum by (job, le) (rate(x_bucket"
        + "{job=~\"a|b\",infermesh_route=\"core\"}[$__rate_interval]))) / on (job) y - time() > 2 or vector(0)"))
        .containsExactly("x_bucket", "y");
  }
}
