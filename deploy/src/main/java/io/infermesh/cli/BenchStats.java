package io.infermesh.cli;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@code infermesh bench} measured: one {@link Sample} per finished request, summarized as
 * rates and p50/p90/p99. Thread-safe: samples are added under {@code this}.
 */
final class BenchStats {
  /**
   * One request.
   *
   * @param ok whether it got a complete answer
   * @param errorKind why not ({@code http_429}, {@code timeout}, {@code connect}, {@code stream}, …), or null
   * @param route the {@code x-infermesh-route} header, or {@code -} when absent
   * @param startNanos when it was sent
   * @param ttftNanos time to the first content (0 when none)
   * @param e2eNanos time to the end
   * @param outputTokens tokens in the answer (usage, else one per streamed delta)
   */
  record Sample(boolean ok, String errorKind, String route, long startNanos, long ttftNanos, long e2eNanos,
      int outputTokens) {}

  @GuardedBy("this")
  private final List<Sample> samples = new ArrayList<>();

  synchronized void add(Sample s) {
    samples.add(s);
  }

  synchronized int count() {
    return samples.size();
  }

  synchronized int errors() {
    return (int) samples.stream().filter(s -> !s.ok()).count();
  }

  /** The summary over everything so far, for a run that lasted {@code elapsedNanos}. */
  synchronized Map<String, Object> summary(long elapsedNanos) {
    List<Sample> ok = samples.stream().filter(Sample::ok).toList();
    double seconds = Math.max(1e-9, elapsedNanos / 1e9);
    long tokens = ok.stream().mapToLong(Sample::outputTokens).sum();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("requests", samples.size());
    m.put("completed", ok.size());
    m.put("duration_s", round(seconds));
    m.put("requests_per_s", round(ok.size() / seconds));
    m.put("output_tokens", tokens);
    m.put("output_tokens_per_s", round(tokens / seconds));
    m.put("ttft_ms", percentiles(ok.stream().filter(s -> s.ttftNanos() > 0).mapToLong(Sample::ttftNanos).toArray()));
    m.put("tpot_ms", percentiles(ok.stream().filter(s -> s.outputTokens() > 1 && s.ttftNanos() > 0)
        .mapToLong(s -> (s.e2eNanos() - s.ttftNanos()) / (s.outputTokens() - 1)).toArray()));
    m.put("e2e_ms", percentiles(ok.stream().mapToLong(Sample::e2eNanos).toArray()));
    Map<String, Integer> errors = new TreeMap<>();
    samples.stream().filter(s -> !s.ok()).forEach(s -> errors.merge(s.errorKind(), 1, Integer::sum));
    m.put("errors", errors);
    Map<String, Integer> routes = new TreeMap<>();
    samples.forEach(s -> routes.merge(s.route(), 1, Integer::sum));
    m.put("routes", routes);
    return m;
  }

  /** p50, p90 and p99 in milliseconds (nearest rank); empty when there are no values. */
  static Map<String, Double> percentiles(long[] nanos) {
    Map<String, Double> p = new LinkedHashMap<>();
    if (nanos.length == 0) {
      return p;
    }
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    for (int q : new int[] {50, 90, 99}) {
      int rank = (int) Math.ceil(q / 100.0 * sorted.length);
      p.put("p" + q, round(sorted[Math.max(0, rank - 1)] / 1e6));
    }
    return p;
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
