package io.infermesh.edge.bench;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.LlamaEngine;
import io.infermesh.node.testing.OtlpReceiver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * What tracing costs an edge request: the same engine behind two agents, one with tracing off (the
 * default: the no-op tracer) and one exporting every trace (sample ratio 1) over OTLP/HTTP to an
 * in-process receiver, requests interleaved so both see the same load. Two paths: a cache hit (the
 * agent's own overhead, where spans weigh most) and a 4-token local generation on the tiny model.
 * Not part of {@code verify}; run with {@code ./mvnw -o -pl edge-agent -am test -Dtest=TracingBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false} and read {@code
 * target/surefire-reports/io.infermesh.edge.bench.TracingBenchmark-output.txt}.
 */
class TracingBenchmark {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final int WARMUP = 50;
  private static final int RUNS = 400;

  @Test
  void edgeLatency_tracingOffVersusSampled() throws Exception {
    LlamaEngine engine = TinyModel.engine();
    EdgeConfig off = TinyModel.config().withCache(new EdgeConfig.Cache(true, 1 << 20, Duration.ofMinutes(10)));
    try (OtlpReceiver receiver = OtlpReceiver.start()) {
      EdgeConfig on = off.toBuilder().telemetry(EdgeConfig.TELEMETRY_DEFAULT.withEndpoint(receiver.tracesEndpoint())
          .withExportInterval(Duration.ofMillis(200))).build();
      try (EdgeAgent plain = EdgeAgent.builder(off).engine(engine).start();
          EdgeAgent traced = EdgeAgent.builder(on).engine(engine).start()) {
        series("cache hit", plain, traced, i -> "Tell me about lighthouses.");
        series("local generation, 4 tokens", plain, traced, i -> "Tell me about lighthouses, take " + i + ".");
        System.out.printf(Locale.ROOT, "spans received by the OTLP receiver: %d in %d exports%n",
            receiver.spans().size(), receiver.exports());
      }
    }
  }

  private interface Prompts {
    String prompt(int i);
  }

  private static void series(String label, EdgeAgent plain, EdgeAgent traced, Prompts prompts) throws Exception {
    double[] offMs = new double[RUNS];
    double[] onMs = new double[RUNS];
    for (int i = -WARMUP; i < RUNS; i++) {
      String body = "{\"model\": \"tiny-edge\", \"max_tokens\": 4, \"temperature\": 0, \"messages\": [{\"role\": "
          + "\"user\", \"content\": \"" + prompts.prompt(i) + "\"}]}";
      boolean offFirst = (i & 1) == 0; // alternate the order: neither agent always runs second
      double a = offFirst ? time(plain, body) : time(traced, body);
      double b = offFirst ? time(traced, body) : time(plain, body);
      if (i >= 0) {
        offMs[i] = offFirst ? a : b;
        onMs[i] = offFirst ? b : a;
      }
    }
    System.out.printf(Locale.ROOT, "%-28s tracing off: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  mean %.3f ms%n", label,
        pct(offMs, 50), pct(offMs, 90), pct(offMs, 99), Arrays.stream(offMs).average().orElse(0));
    System.out.printf(Locale.ROOT, "%-28s tracing on:  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  mean %.3f ms"
        + "  (p50 %+.3f ms, %+.1f%%)%n", label, pct(onMs, 50), pct(onMs, 90), pct(onMs, 99),
        Arrays.stream(onMs).average().orElse(0), pct(onMs, 50) - pct(offMs, 50),
        100 * (pct(onMs, 50) / pct(offMs, 50) - 1));
  }

  private static double time(EdgeAgent agent, String body) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort()
            + "/v1/chat/completions")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    long t0 = System.nanoTime();
    HttpResponse<String> r = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    long t1 = System.nanoTime();
    if (r.statusCode() != 200) {
      throw new IllegalStateException(r.statusCode() + ": " + r.body());
    }
    return (t1 - t0) / 1e6;
  }

  private static double pct(double[] values, int p) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
  }
}
