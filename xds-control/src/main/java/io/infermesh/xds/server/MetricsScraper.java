package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.xds.canary.NodeReport;
import io.infermesh.xds.canary.VersionStats;
import io.infermesh.xds.snapshot.MeshEndpoint;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Scrapes nodes' Prometheus {@code /metrics} (plain HTTP on {@link MeshEndpoint#metricsPort()},
 * the port the core's metrics server binds) and sums what they report per model version ({@link
 * NodeReport}). All nodes of one scrape are asked at once, each with {@code timeout}. Thread-safe.
 */
final class MetricsScraper {

  private final HttpClient http;
  private final Duration timeout;

  MetricsScraper(Duration timeout) {
    this.timeout = requireNonNull(timeout, "timeout");
    this.http = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
  }

  /**
   * Per model version, the sum over {@code endpoints} of what each reports.
   *
   * @throws IOException when any node could not be scraped or its text not read: a partial sum
   *     would look like counters going down, so a scrape is all or nothing
   */
  Map<String, VersionStats> scrape(List<MeshEndpoint> endpoints) throws IOException {
    List<CompletableFuture<Map<String, VersionStats>>> pending = new ArrayList<>();
    for (MeshEndpoint e : endpoints) {
      String host = e.host().contains(":") ? "[" + e.host() + "]" : e.host();
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + host + ":" + e.metricsPort() + "/metrics"))
          .timeout(timeout).GET().build();
      pending.add(http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
        if (r.statusCode() != 200) {
          throw new IllegalStateException(e.id() + ": /metrics answered " + r.statusCode());
        }
        return NodeReport.parse(r.body(), e.version());
      }));
    }
    Map<String, VersionStats> sum = new HashMap<>();
    for (CompletableFuture<Map<String, VersionStats>> f : pending) {
      try {
        f.join().forEach((version, stats) -> sum.merge(version, stats, VersionStats::plus));
      } catch (CompletionException e) {
        pending.forEach(p -> p.cancel(true));
        throw new IOException("scraping /metrics failed: " + e.getCause().getMessage(), e.getCause());
      }
    }
    return sum;
  }
}
