package io.infermesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.node.config.Durations;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code infermesh bench}: a closed-loop load generator for any OpenAI-compatible chat endpoint
 * (infermesh's edge, vLLM, llama.cpp server, …). {@code --concurrency} workers each send one
 * request at a time until {@code --requests} were sent or {@code --duration} passed.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    header = "Load-test an OpenAI-compatible endpoint: throughput and latency.",
    versionProvider = VersionProvider.class,
    description = {
      "Prints requests/s, output tokens/s, time to first token, time per output",
      "token and end-to-end latency (p50/p90/p99), errors by kind, and the route",
      "mix (x-infermesh-route) of an infermesh edge. Works against any",
      "OpenAI-compatible server (vLLM, llama.cpp server, TGI, ...).",
      "",
      "  infermesh bench --url http://127.0.0.1:8080 -c 8 -n 200",
      "  infermesh bench --url http://127.0.0.1:8000 --model Qwen/Qwen2.5-0.5B \\",
      "      --duration 60s --json",
      ""
    })
final class BenchCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String[] WORDS = ("the a river mountain city light quick story about of and with history "
      + "science music garden ocean winter code train planet book").split(" ");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--url", defaultValue = "http://127.0.0.1:8080",
      description = "Base URL of the endpoint; /v1/chat/completions is appended (default: ${DEFAULT-VALUE}).")
  String url;

  @Option(names = "--model", defaultValue = "auto", description = "The model field (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(names = {"-c", "--concurrency"}, defaultValue = "8", description = "Requests in flight (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(names = {"-n", "--requests"}, defaultValue = "100", description = "Requests to send (default: ${DEFAULT-VALUE}).")
  int requests;

  @Option(names = "--duration", paramLabel = "DURATION",
      description = "Run this long instead of a request count (e.g. 30s, 5m).")
  String duration;

  @Option(names = "--prompt-words", defaultValue = "32", description = "Words per generated prompt (default: ${DEFAULT-VALUE}).")
  int promptWords;

  @Option(names = "--max-tokens", defaultValue = "64", description = "max_tokens per request (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--prompts", paramLabel = "JSONL",
      description = "Prompts to cycle through, one {\"prompt\": \"...\"} per line (instead of generated ones).")
  Path prompts;

  @Option(names = "--stream", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Stream answers (SSE); --no-stream asks for whole answers (TTFT = end-to-end).")
  boolean stream;

  @Option(names = "--header", paramLabel = "NAME:VALUE", description = "Extra header, e.g. x-infermesh-require:core (repeatable).")
  List<String> headers = new ArrayList<>();

  @Option(names = "--api-key", description = "Sent as 'Authorization: Bearer KEY'.")
  String apiKey;

  @Option(names = "--timeout", defaultValue = "120s", description = "Per-request timeout (default: ${DEFAULT-VALUE}).")
  String timeout;

  @Option(names = "--json", description = "Print the summary as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (concurrency < 1) {
      throw new IllegalArgumentException("--concurrency must be at least 1, got " + concurrency);
    }
    if (requests < 1 && duration == null) {
      throw new IllegalArgumentException("--requests must be at least 1, got " + requests);
    }
    if (maxTokens < 1) {
      throw new IllegalArgumentException("--max-tokens must be at least 1, got " + maxTokens);
    }
    Duration perRequest = parseDuration("--timeout", timeout);
    long stopAt = duration == null ? Long.MAX_VALUE : System.nanoTime() + parseDuration("--duration", duration).toNanos();
    List<String> promptList = prompts == null ? generated(64) : readPrompts(prompts);
    URI endpoint = URI.create(url.replaceAll("/+$", "").replaceAll("/v1$", "") + "/v1/chat/completions");
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10)).build();
    BenchStats stats = new BenchStats();
    AtomicLong next = new AtomicLong();
    long started = System.nanoTime();
    ExecutorService workers = Executors.newFixedThreadPool(concurrency, r -> {
      Thread t = new Thread(r, "bench-worker");
      t.setDaemon(true);
      return t;
    });
    PrintWriter err = spec.commandLine().getErr();
    try {
      for (int w = 0; w < concurrency; w++) {
        workers.execute(() -> {
          while (!Thread.currentThread().isInterrupted()) {
            long index = next.getAndIncrement();
            if (duration == null ? index >= requests : System.nanoTime() >= stopAt) {
              return;
            }
            stats.add(one(http, endpoint, promptList.get((int) (index % promptList.size())), perRequest));
          }
        });
      }
      workers.shutdown();
      while (!workers.awaitTermination(1, TimeUnit.SECONDS)) {
        progress(err, stats, started);
      }
      progress(err, stats, started);
      err.println();
      err.flush();
    } finally {
      workers.shutdownNow();
    }
    Map<String, Object> summary = stats.summary(System.nanoTime() - started);
    summary.put("url", endpoint.toString());
    summary.put("concurrency", concurrency);
    summary.put("stream", stream);
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(JSON.writeValueAsString(summary));
    } else {
      printTable(out, summary);
    }
    out.flush();
    return stats.errors() == 0 ? 0 : 1;
  }

  private static void progress(PrintWriter err, BenchStats stats, long started) {
    double s = (System.nanoTime() - started) / 1e9;
    err.printf("\r%6d done  %4d errors  %7.1f req/s  %5.0f s", stats.count(), stats.errors(), stats.count() / s, s);
    err.flush();
  }

  /** Sends one request and measures it; never throws. */
  private BenchStats.Sample one(HttpClient http, URI endpoint, String prompt, Duration perRequest) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    body.put("max_tokens", maxTokens);
    body.put("stream", stream);
    if (stream) {
      body.putObject("stream_options").put("include_usage", true);
    }
    body.putArray("messages").addObject().put("role", "user").put("content", prompt);
    HttpRequest.Builder req = HttpRequest.newBuilder(endpoint).timeout(perRequest)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
    for (String h : headers) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--header must be NAME:VALUE, got '" + h + "'");
      }
      req.header(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
    }
    if (apiKey != null) {
      req.header("Authorization", "Bearer " + apiKey);
    }
    long t0 = System.nanoTime();
    try {
      HttpResponse<Stream<String>> resp = http.send(req.build(), HttpResponse.BodyHandlers.ofLines());
      String route = resp.headers().firstValue("x-infermesh-route").orElse("-");
      try (Stream<String> lines = resp.body()) {
        if (resp.statusCode() != 200) {
          return new BenchStats.Sample(false, "http_" + resp.statusCode(), route, t0, 0, System.nanoTime() - t0, 0);
        }
        return stream ? readStream(lines.iterator(), route, t0) : readWhole(lines.iterator(), route, t0);
      }
    } catch (HttpTimeoutException e) {
      return new BenchStats.Sample(false, "timeout", "-", t0, 0, System.nanoTime() - t0, 0);
    } catch (ConnectException e) {
      return new BenchStats.Sample(false, "connect", "-", t0, 0, System.nanoTime() - t0, 0);
    } catch (IOException | RuntimeException e) {
      return new BenchStats.Sample(false, "io", "-", t0, 0, System.nanoTime() - t0, 0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new BenchStats.Sample(false, "interrupted", "-", t0, 0, System.nanoTime() - t0, 0);
    }
  }

  private static BenchStats.Sample readStream(Iterator<String> lines, String route, long t0) throws IOException {
    long ttft = 0;
    int deltas = 0;
    int usageTokens = -1;
    boolean done = false;
    boolean finished = false;
    while (lines.hasNext()) {
      String line = lines.next();
      if (!line.startsWith("data: ")) {
        continue;
      }
      String data = line.substring(6);
      if (data.equals("[DONE]")) {
        done = true;
        break;
      }
      JsonNode chunk = JSON.readTree(data);
      if (chunk.has("error")) {
        return new BenchStats.Sample(false, "stream", route, t0, ttft, System.nanoTime() - t0, deltas);
      }
      JsonNode content = chunk.at("/choices/0/delta/content");
      if (content.isTextual() && !content.asText().isEmpty()) {
        if (ttft == 0) {
          ttft = System.nanoTime() - t0;
        }
        deltas++;
      }
      if (chunk.at("/choices/0/finish_reason").isTextual()) {
        finished = true;
      }
      if (chunk.at("/usage/completion_tokens").isInt()) {
        usageTokens = chunk.at("/usage/completion_tokens").asInt();
      }
    }
    long e2e = System.nanoTime() - t0;
    if (!done || !finished) {
      return new BenchStats.Sample(false, "truncated", route, t0, ttft, e2e, deltas);
    }
    return new BenchStats.Sample(true, null, route, t0, ttft, e2e, usageTokens >= 0 ? usageTokens : deltas);
  }

  private static BenchStats.Sample readWhole(Iterator<String> lines, String route, long t0) throws IOException {
    StringBuilder b = new StringBuilder();
    lines.forEachRemaining(b::append);
    long e2e = System.nanoTime() - t0;
    JsonNode body = JSON.readTree(b.toString());
    if (!body.at("/choices/0/finish_reason").isTextual()) {
      return new BenchStats.Sample(false, "malformed", route, t0, 0, e2e, 0);
    }
    return new BenchStats.Sample(true, null, route, t0, e2e, e2e, body.at("/usage/completion_tokens").asInt(0));
  }

  private List<String> generated(int count) {
    List<String> out = new ArrayList<>();
    Random random = new Random(7);
    for (int i = 0; i < count; i++) {
      StringBuilder b = new StringBuilder("Write about");
      for (int w = 0; w < promptWords; w++) {
        b.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
      }
      out.add(b.toString());
    }
    return out;
  }

  private static List<String> readPrompts(Path file) throws IOException {
    List<String> out = new ArrayList<>();
    int n = 0;
    for (String line : Files.readAllLines(file)) {
      n++;
      if (line.isBlank()) {
        continue;
      }
      JsonNode p = JSON.readTree(line).get("prompt");
      if (p == null || !p.isTextual()) {
        throw new IllegalArgumentException("--prompts: " + file + ":" + n + " has no string 'prompt'");
      }
      out.add(p.asText());
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("--prompts: " + file + " holds no prompts");
    }
    return out;
  }

  static Duration parseDuration(String option, String text) {
    try {
      return Durations.parse(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + " " + e.getMessage(), e);
    }
  }

  @SuppressWarnings("unchecked")
  private static void printTable(PrintWriter out, Map<String, Object> s) {
    out.printf("url %s  concurrency %s  stream %s%n", s.get("url"), s.get("concurrency"), s.get("stream"));
    out.printf("requests %s (completed %s) in %s s: %s req/s, %s output tokens/s%n", s.get("requests"),
        s.get("completed"), s.get("duration_s"), s.get("requests_per_s"), s.get("output_tokens_per_s"));
    out.printf("%-10s %10s %10s %10s%n", "ms", "p50", "p90", "p99");
    for (String k : List.of("ttft_ms", "tpot_ms", "e2e_ms")) {
      Map<String, Double> p = (Map<String, Double>) s.get(k);
      out.printf("%-10s %10s %10s %10s%n", k.replace("_ms", ""), p.getOrDefault("p50", Double.NaN),
          p.getOrDefault("p90", Double.NaN), p.getOrDefault("p99", Double.NaN));
    }
    out.println("errors: " + s.get("errors"));
    out.println("routes: " + s.get("routes"));
  }
}
