package io.infermesh.xds.canary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The scrape contract, read from a real Micrometer Prometheus registry whose meters are declared
 * the way the core's {@code CoreMetrics} declares them (same names, tags and histogram).
 */
class NodeReportTest {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  private void served(String version, String finish, Duration ttft) {
    Timer.builder("gen_ai.server.request.duration").tags("priority", "normal", "finish", finish,
        "model_version", version).register(registry).record(Duration.ofMillis(5));
    if (ttft != null) {
      Timer.builder("gen_ai.server.time_to_first_token").tag("model_version", version)
          .publishPercentiles(0.5, 0.95).publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
          .register(registry).record(ttft);
    }
  }

  @Test
  void parse_coreMeters_givesRequestsErrorsAndTtftPerVersion() {
    for (int i = 0; i < 97; i++) {
      served("v1", "stop", Duration.ofMillis(20));
    }
    served("v1", "length", Duration.ofMillis(20));
    served("v1", "failed", null);
    served("v1", "failed", null);
    for (int i = 0; i < 10; i++) {
      served("v2", "stop", Duration.ofMillis(900));
    }

    Map<String, VersionStats> report = NodeReport.parse(registry.scrape(), "v0");

    assertThat(report).containsOnlyKeys("v1", "v2");
    assertThat(report.get("v1").requests()).isEqualTo(100);
    assertThat(report.get("v1").errors()).isEqualTo(2);
    assertThat(report.get("v1").ttft().count()).isEqualTo(98);
    assertThat(report.get("v1").ttft().quantileUpperBound(0.99).orElseThrow()).isBetween(0.02, 0.03);
    assertThat(report.get("v2").ttft().quantileUpperBound(0.99).orElseThrow()).isBetween(0.9, 1.2);
  }

  @Test
  void parse_seriesWithoutVersionLabel_countForTheNodesDiscoveredVersion() {
    String text = """
        # TYPE gen_ai_server_request_duration_seconds summary
        gen_ai_server_request_duration_seconds_count{finish="stop",priority="normal"} 7
        gen_ai_server_request_duration_seconds_count{finish="failed",priority="normal"} 3
        gen_ai_server_request_duration_seconds_sum{finish="stop",priority="normal"} 1.5
        gen_ai_server_time_to_first_token_seconds_bucket{le="0.1"} 6
        gen_ai_server_time_to_first_token_seconds_bucket{le="+Inf"} 7
        """;

    VersionStats v = NodeReport.parse(text, "v3").get("v3");

    assertThat(v.requests()).isEqualTo(10);
    assertThat(v.errors()).isEqualTo(3);
    assertThat(v.ttft().quantileUpperBound(0.5)).contains(0.1);
  }

  @Test
  void parse_escapedLabelValuesAndBrokenLines() {
    PrometheusLine line = PrometheusLine.parse("m{a=\"x\\\"y\\\\z\",b=\"\"} 2.5 1700000000");
    assertThat(line.labels()).containsEntry("a", "x\"y\\z").containsEntry("b", "");
    assertThat(line.value()).isEqualTo(2.5);
    assertThatThrownBy(() -> NodeReport.parse("gen_ai_server_request_duration_seconds_count{a=\"x} 1", "v1"))
        .hasMessageContaining("line 1");
  }
}
