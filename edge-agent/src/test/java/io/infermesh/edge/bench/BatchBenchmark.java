package io.infermesh.edge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.Batches;
import io.infermesh.edge.config.EdgeConfig;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * What a running batch costs interactive requests, and what batch execution costs against sending
 * the same requests directly. Not part of {@code verify}:
 *
 * <pre>./mvnw -o -pl edge-agent -am test -Dtest=BatchBenchmark -Dsurefire.failIfNoSpecifiedTests=false</pre>
 *
 * <p>{@code BATCHBENCH interactive}: chat requests ({@code max_tokens} 8) over HTTP at a fixed
 * arrival rate ({@code -Dbatch.bench.rate}, 4/s) for {@code -Dbatch.bench.seconds} (15) per phase,
 * latency from the scheduled send; phases without a batch, with a large batch running (same
 * requests, 2 workers), and without again. {@code BATCHBENCH throughput}: {@code
 * -Dbatch.bench.lines} (500) requests as a batch (created to completed) against the same requests
 * sent directly over HTTP by as many clients as the batch has workers.
 */
class BatchBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int RATE = Integer.getInteger("batch.bench.rate", 4);
  private static final int SECONDS = Integer.getInteger("batch.bench.seconds", 15);
  private static final int LINES = Integer.getInteger("batch.bench.lines", 500);
  private static final int WORKERS = 2;

  private final HttpClient http = HttpClient.newHttpClient();
  private String base;

  private static String body(int i) {
    return "{\"model\": \"tiny-edge\", \"messages\": [{\"role\": \"user\", \"content\": \"question " + i + "\"}],"
        + " \"max_tokens\": 8, \"seed\": " + i + "}";
  }

  private HttpResponse<String> post(String path, String contentType, byte[] body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", contentType)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode get(String path) throws Exception {
    return JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(),
        HttpResponse.BodyHandlers.ofString()).body());
  }

  private String submit(int lines, int offset) throws Exception {
    StringBuilder in = new StringBuilder();
    for (int i = 0; i < lines; i++) {
      in.append("{\"custom_id\": \"b").append(i).append("\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\","
          + " \"body\": ").append(body(offset + i)).append("}\n");
    }
    String boundary = "bench";
    ByteArrayOutputStream form = new ByteArrayOutputStream();
    form.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--"
        + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n\r\n")
        .getBytes(StandardCharsets.UTF_8));
    form.writeBytes(in.toString().getBytes(StandardCharsets.UTF_8));
    form.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    String fileId = JSON.readTree(post("/v1/files", "multipart/form-data; boundary=" + boundary, form.toByteArray())
        .body()).get("id").asText();
    HttpResponse<String> created = post("/v1/batches", "application/json", ("{\"input_file_id\": \"" + fileId
        + "\", \"endpoint\": \"/v1/chat/completions\", \"completion_window\": \"24h\"}").getBytes(StandardCharsets.UTF_8));
    return JSON.readTree(created.body()).get("id").asText();
  }

  private String awaitEnd(String id) throws Exception {
    while (true) {
      String status = get("/v1/batches/" + id).get("status").asText();
      if (status.equals("completed") || status.equals("cancelled") || status.equals("failed")) {
        return status;
      }
      Thread.sleep(20);
    }
  }

  /** Interactive requests at RATE/s for SECONDS; latencies in ms, sorted. */
  private List<Double> interactive(String phase) throws Exception {
    ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor();
    ExecutorService clients = Executors.newCachedThreadPool();
    List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger refused = new AtomicInteger();
    List<Future<?>> sent = Collections.synchronizedList(new ArrayList<>());
    long period = 1_000_000_000L / RATE;
    long start = System.nanoTime();
    int total = RATE * SECONDS;
    for (int i = 0; i < total; i++) {
      long due = start + i * period;
      int n = i;
      clock.schedule(() -> sent.add(clients.submit(() -> {
        HttpResponse<String> r = post("/v1/chat/completions", "application/json",
            body(100_000 + n).getBytes(StandardCharsets.UTF_8));
        if (r.statusCode() != 200) {
          refused.incrementAndGet();
          return null;
        }
        latencies.add((System.nanoTime() - due) / 1e6);
        return null;
      })), due - System.nanoTime(), TimeUnit.NANOSECONDS);
    }
    clock.shutdown();
    clock.awaitTermination(SECONDS + 60, TimeUnit.SECONDS);
    for (Future<?> f : new ArrayList<>(sent)) {
      f.get();
    }
    clients.shutdown();
    List<Double> sorted = new ArrayList<>(latencies);
    Collections.sort(sorted);
    System.out.printf("BATCHBENCH interactive %-18s n=%d refused=%d rate=%d/s p50 %.1f ms p90 %.1f ms p99 %.1f ms"
        + " max %.1f ms (load average %.1f)%n", phase, sorted.size(), refused.get(), RATE, at(sorted, 0.5),
        at(sorted, 0.9), at(sorted, 0.99), sorted.get(sorted.size() - 1),
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    return sorted;
  }

  private static double at(List<Double> sorted, double q) {
    return sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * q)));
  }

  @Test
  void interactiveLatencyWithABatch_andBatchThroughput() throws Exception {
    Path dir = Files.createTempDirectory("batch-bench");
    try (EdgeAgent agent = EdgeAgent.builder(TinyModel.config()
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)))
        .withBatch(Batches.NONE.withSqlite(dir).withConcurrency(WORKERS))).engine(TinyModel.engine()).start()) {
      base = "http://127.0.0.1:" + agent.httpPort();
      interactive("warm-up");
      List<Double> before = interactive("no batch");
      String big = submit(RATE * SECONDS * 40, 0);
      while (get("/v1/batches/" + big).at("/request_counts/completed").asInt() < 20) {
        Thread.sleep(20);
      }
      List<Double> with = interactive("batch running");
      int doneDuring = get("/v1/batches/" + big).at("/request_counts/completed").asInt();
      post("/v1/batches/" + big + "/cancel", "application/json", new byte[0]);
      System.out.printf("BATCHBENCH batch lines answered while interactive ran: %d (%.1f/s)%n", doneDuring,
          doneDuring / (double) SECONDS);
      awaitEnd(big);
      List<Double> after = interactive("no batch, again");
      System.out.printf("BATCHBENCH interactive p99 with batch / without: %.2f (before), %.2f (after)%n",
          at(with, 0.99) / at(before, 0.99), at(with, 0.99) / at(after, 0.99));

      long t0 = System.nanoTime();
      String id = submit(LINES, 200_000);
      String status = awaitEnd(id);
      double batchSeconds = (System.nanoTime() - t0) / 1e9;
      ExecutorService direct = Executors.newFixedThreadPool(WORKERS);
      List<Future<Integer>> calls = new ArrayList<>();
      long t1 = System.nanoTime();
      for (int i = 0; i < LINES; i++) {
        int n = 300_000 + i;
        calls.add(direct.submit(() -> post("/v1/chat/completions", "application/json",
            body(n).getBytes(StandardCharsets.UTF_8)).statusCode()));
      }
      for (Future<Integer> f : calls) {
        f.get();
      }
      double directSeconds = (System.nanoTime() - t1) / 1e9;
      direct.shutdown();
      System.out.printf("BATCHBENCH throughput %d requests: batch %.1f req/s (%.1f s, %s, upload to completed),"
          + " direct HTTP at concurrency %d %.1f req/s (%.1f s); batch/direct %.2f%n", LINES, LINES / batchSeconds,
          batchSeconds, status, WORKERS, LINES / directSeconds, directSeconds, directSeconds / batchSeconds);
    }
  }
}
