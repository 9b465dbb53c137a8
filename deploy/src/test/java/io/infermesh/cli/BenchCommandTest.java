package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.node.config.Durations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code infermesh bench} against a real edge agent (tiny model, port 0). */
class BenchCommandTest {
  private static EdgeAgent edge;
  private static Path dir;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("bench");
    Path model = TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), dir);
    edge = EdgeAgent.builder(EdgeConfig.defaults()
        .withModel(EdgeConfig.Model.builder().path(model).contextSize(512).threads(1).parallel(2).defaultMaxTokens(16)
            .build())
        .withHttpPort(0)
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)))).start();
    edge.awaitModel(Duration.ofMinutes(2));
  }

  @AfterAll
  static void stop() {
    edge.close();
  }


  @Test
  void parseDuration_theFlagsGrammar_isTheConfigFilesGrammar() {
    assertThat(BenchCommand.parseDuration("--duration", "1.5s")).isEqualTo(Duration.ofMillis(1_500));
    assertThat(BenchCommand.parseDuration("--duration", "1d")).isEqualTo(Duration.ofDays(1));
    assertThat(BenchCommand.parseDuration("--timeout", "PT30S")).isEqualTo(Duration.ofSeconds(30));
    assertThatThrownBy(() -> BenchCommand.parseDuration("--duration", "10 seconds"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--duration must be " + Durations.EXPECTED);
  }

  @Test
  void bench_streamingAgainstEdge_reportsLatenciesAndRouteMix() throws Exception {
    CliRun r = CliRun.of("bench", "--url", "http://127.0.0.1:" + edge.httpPort(), "-c", "4", "-n", "20",
        "--max-tokens", "8", "--json");
    assertThat(r.exitCode()).as(r.err()).isZero();
    JsonNode s = new ObjectMapper().readTree(r.out());
    assertThat(s.get("requests").asInt()).isEqualTo(20);
    assertThat(s.get("completed").asInt()).isEqualTo(20);
    assertThat(s.get("errors").size()).isZero();
    assertThat(s.at("/routes/edge").asInt()).isEqualTo(20);
    assertThat(s.get("output_tokens").asInt()).isBetween(20, 160);
    assertThat(s.at("/ttft_ms/p50").asDouble()).isPositive();
    assertThat(s.at("/e2e_ms/p99").asDouble()).isGreaterThanOrEqualTo(s.at("/e2e_ms/p50").asDouble());
    assertThat(s.at("/tpot_ms/p50").asDouble()).isPositive();
    assertThat(r.err()).contains("done");
  }

  @Test
  void bench_wholeAnswersWithTable_printsEveryMetric() {
    CliRun r = CliRun.of("bench", "--url", "http://127.0.0.1:" + edge.httpPort() + "/v1", "-c", "2", "-n", "6",
        "--max-tokens", "4", "--no-stream");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("req/s", "output tokens/s", "ttft", "tpot", "e2e", "p50", "p90", "p99",
        "routes: {edge=6}", "errors: {}");
  }

  @Test
  void bench_nothingListening_countsConnectErrorsAndExitsNonZero() {
    CliRun r = CliRun.of("bench", "--url", "http://127.0.0.1:1", "-c", "1", "-n", "3", "--json");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.out()).contains("\"connect\" : 3");
  }
}
