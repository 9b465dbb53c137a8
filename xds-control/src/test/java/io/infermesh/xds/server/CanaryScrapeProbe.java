package io.infermesh.xds.server;

import io.infermesh.xds.canary.VersionStats;
import io.infermesh.xds.snapshot.MeshEndpoint;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Opens the package-private {@link MetricsScraper} to the benchmarks in {@code io.infermesh.xds.bench}. */
public final class CanaryScrapeProbe {

  private final MetricsScraper scraper;

  public CanaryScrapeProbe(Duration timeout) {
    this.scraper = new MetricsScraper(timeout);
  }

  public Map<String, VersionStats> scrape(List<MeshEndpoint> endpoints) throws IOException {
    return scraper.scrape(endpoints);
  }
}
