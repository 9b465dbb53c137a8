package io.infermesh.xds.bench;

import io.infermesh.xds.canary.NodeReport;
import io.infermesh.xds.canary.VersionStats;
import io.infermesh.xds.server.CanaryScrapeProbe;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.testing.MeteredBackend;
import io.infermesh.xds.testing.MeteredBackend.Behaviour;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What judging a canary costs the control plane each interval: reading one node's {@code /metrics}
 * text ({@link NodeReport#parse}, a core-sized exposition: two versions' TTFT histograms, request
 * counts by priority and finish) and a whole scrape over real HTTP of N stand-in nodes
 * ({@code MetricsScraper}, all nodes at once).
 *
 * <pre>
 * ./mvnw -q -o -pl xds-control test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp xds-control/target/test-classes:xds-control/target/classes:$(cat xds-control/target/cp.txt) \
 *     io.infermesh.xds.bench.CanaryScrapeBenchmark
 * </pre>
 *
 * Not run by {@code verify}.
 */
public final class CanaryScrapeBenchmark {

  private CanaryScrapeBenchmark() {}

  public static void main(String[] args) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    for (String version : List.of("v1", "v2")) {
      for (String priority : List.of("high", "normal", "low")) {
        for (String finish : List.of("stop", "length", "failed", "cancelled")) {
          Timer.builder("gen_ai.server.request.duration").tags("priority", priority, "finish", finish,
              "model_version", version).register(registry).record(Duration.ofMillis(40));
        }
      }
      Timer ttft = Timer.builder("gen_ai.server.time_to_first_token").tag("model_version", version)
          .publishPercentiles(0.5, 0.95).publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60)).register(registry);
      for (int i = 0; i < 1000; i++) {
        ttft.record(Duration.ofMillis(1 + i % 500));
      }
    }
    String text = registry.scrape();
    int rounds = 20_000;
    for (int i = 0; i < rounds; i++) {
      NodeReport.parse(text, "v1"); // warm-up
    }
    long start = System.nanoTime();
    long sink = 0;
    for (int i = 0; i < rounds; i++) {
      sink += NodeReport.parse(text, "v1").get("v2").requests();
    }
    double micros = (System.nanoTime() - start) / 1e3 / rounds;
    System.out.printf("NodeReport.parse: %d bytes, %d lines -> %.1f us per node exposition (%d)%n",
        text.length(), text.split("\n").length, micros, sink % 10);

    for (int nodes : new int[] {4, 16}) {
      List<MeteredBackend> backends = new ArrayList<>();
      List<MeshEndpoint> endpoints = new ArrayList<>();
      for (int i = 0; i < nodes; i++) {
        MeteredBackend b = MeteredBackend.start("core-inference", "node-" + i, "eu-west", i % 2 == 0 ? "v1" : "v2",
            Behaviour.HEALTHY);
        backends.add(b);
        endpoints.add(b.endpoint());
      }
      CanaryScrapeProbe scraper = new CanaryScrapeProbe(Duration.ofSeconds(5));
      for (int i = 0; i < 50; i++) {
        scraper.scrape(endpoints);
      }
      int scrapes = 200;
      long[] took = new long[scrapes];
      Map<String, VersionStats> last = Map.of();
      for (int i = 0; i < scrapes; i++) {
        long t0 = System.nanoTime();
        last = scraper.scrape(endpoints);
        took[i] = System.nanoTime() - t0;
      }
      Arrays.sort(took);
      System.out.printf("scrape of %2d nodes over HTTP: p50 %.2f ms, p99 %.2f ms (versions %s)%n", nodes,
          took[scrapes / 2] / 1e6, took[scrapes * 99 / 100] / 1e6, last.keySet());
      backends.forEach(MeteredBackend::close);
    }
  }
}
