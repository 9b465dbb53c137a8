package io.infermesh.xds.canary;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads one node's Prometheus text exposition into {@link VersionStats} per model version. The
 * contract with the core ({@code CoreMetrics}) is three series, each labelled {@code
 * model_version}:
 *
 * <ul>
 *   <li>{@code gen_ai_server_request_duration_seconds_count} — calls that ended; those labelled
 *       {@code finish="failed"} failed on the server's side;
 *   <li>{@code gen_ai_server_time_to_first_token_seconds_bucket} — the time-to-first-token
 *       histogram, {@code le} in seconds.
 * </ul>
 *
 * Series of the same version are summed over their other labels (priority, finish). A series
 * without {@code model_version} (a node from before the label) counts for {@code defaultVersion},
 * the version discovery reports for the node. Other lines are skipped; a line that does not parse
 * is an {@link IllegalArgumentException}. Linear in the text. Stateless.
 */
public final class NodeReport {

  static final String REQUESTS = "gen_ai_server_request_duration_seconds_count";
  static final String TTFT_BUCKETS = "gen_ai_server_time_to_first_token_seconds_bucket";
  static final String VERSION_LABEL = "model_version";

  private NodeReport() {}

  /** Per model version, what the node's {@code /metrics} text says. */
  public static Map<String, VersionStats> parse(String exposition, String defaultVersion) {
    Map<String, long[]> calls = new HashMap<>(); // version -> {requests, errors}
    Map<String, TreeMap<Double, Long>> buckets = new HashMap<>();
    int lineNumber = 0;
    for (String line : exposition.split("\n")) {
      lineNumber++;
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      boolean requests = line.startsWith(REQUESTS);
      boolean ttft = line.startsWith(TTFT_BUCKETS);
      if (!requests && !ttft) {
        continue;
      }
      PrometheusLine sample;
      try {
        sample = PrometheusLine.parse(line);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("line " + lineNumber + ": " + e.getMessage(), e);
      }
      String version = sample.labels().getOrDefault(VERSION_LABEL, defaultVersion);
      long value = Math.round(sample.value());
      if (requests && sample.name().equals(REQUESTS)) {
        long[] c = calls.computeIfAbsent(version, v -> new long[2]);
        c[0] += value;
        if ("failed".equals(sample.labels().get("finish"))) {
          c[1] += value;
        }
      } else if (ttft && sample.name().equals(TTFT_BUCKETS)) {
        String le = sample.labels().get("le");
        if (le == null) {
          throw new IllegalArgumentException("line " + lineNumber + ": a bucket without le");
        }
        double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
        buckets.computeIfAbsent(version, v -> new TreeMap<>()).merge(bound, value, Long::sum);
      }
    }
    Map<String, VersionStats> out = new HashMap<>();
    for (String version : union(calls, buckets)) {
      long[] c = calls.getOrDefault(version, new long[2]);
      LatencyHistogram h = new LatencyHistogram(buckets.getOrDefault(version, new TreeMap<>()));
      out.put(version, new VersionStats(c[0], Math.min(c[1], c[0]), h));
    }
    return out;
  }

  private static Set<String> union(Map<String, ?> a, Map<String, ?> b) {
    Set<String> all = new HashSet<>(a.keySet());
    all.addAll(b.keySet());
    return all;
  }
}
