package io.infermesh.edge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.LocalEngine;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What forwarding the edge's local tier costs ({@code engine.type: upstream}): the same
 * OpenAI-compatible server asked directly and through an edge, interleaved (the order alternates
 * each round), streamed ({@code stream: true}), medians reported. Not part of {@code verify}; run
 * with
 * {@code ./mvnw -o -pl edge-agent test -Dtest=UpstreamEngineBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * [-Dllama.cpp.bin=/path/to/llama.cpp/build/bin]} and read the {@code UPSTREAM} lines of
 * {@code target/surefire-reports/io.infermesh.edge.bench.UpstreamEngineBenchmark-output.txt}.
 *
 * <ul>
 *   <li>the server is an infermesh edge on the tiny Q8_0 model (0.1 ms a token: a harsh ratio, the
 *       per-token cost in µs is the figure) and on the 0.5B-shaped Q4_0 model (a realistic token
 *       time; its vocabulary is mostly reserved ids that print nothing, so its row times whole
 *       requests, not the first token): decode tok/s (first token to the end) and time to first
 *       token, one stream;
 *   <li>with {@code -Dllama.cpp.bin} (a directory holding a native {@code llama-server}): {@code
 *       llama-server -np 4 --threads 2} on the 0.5B-shaped model, one stream and 4 concurrent
 *       streams' aggregate tok/s, direct against through the edge ({@code max_concurrency: 4}).
 *       Without it the run says so and measures the rest.
 * </ul>
 *
 * Each server loads its model on its own loader thread, which exits: no engine here is loaded on a
 * thread that outlives the load (llama.cpp's OpenMP trap).
 */
class UpstreamEngineBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();
  private static final String PROMPT = "The old lighthouse keeper climbed the stairs and looked out over the sea";
  /** For llama-server: a prompt whose greedy answer on the tiny model stays clean text (see the llama-server test). */
  private static final String CLEAN_PROMPT = "Story 0: " + PROMPT;
  /** Bias the tiny vocabulary's control and non-ASCII byte tokens away (for llama-server). */
  private static volatile boolean cleanText;

  @Test
  void proxyingCost_infermeshEdgeAsTheServer() throws Exception {
    System.out.printf(Locale.ROOT, "UPSTREAM load average %.2f at start, %d cores%n", load(),
        Runtime.getRuntime().availableProcessors());
    Path tiny = TinyModel.path();
    Path half = TinyModels.write(TinyModelSpec.halfBillionShape(GgmlType.Q4_0), TinyModel.directory());
    try (EdgeAgent server = infermeshServer(tiny); EdgeAgent edge = front(server.httpPort(), 1)) {
      oneStream("infermesh edge, tiny-edge Q8_0, 1 thread", server.httpPort(), edge.httpPort(), 256, 60, 41);
    }
    try (EdgeAgent server = infermeshServer(half); EdgeAgent edge = front(server.httpPort(), 1)) {
      oneStream("infermesh edge, 0.5B-shape Q4_0, 1 thread", server.httpPort(), edge.httpPort(), 48, 2, 7);
    }
    System.out.printf(Locale.ROOT, "UPSTREAM load average %.2f at the end%n", load());
  }

  @Test
  void proxyingCost_llamaServerAsTheServer() throws Exception {
    String bin = System.getProperty("llama.cpp.bin", "");
    Path llamaServer = bin.isEmpty() ? null : Path.of(bin).resolve("llama-server");
    if (llamaServer == null || !Files.isExecutable(llamaServer)) {
      String why = "UPSTREAM llama-server: NOT MEASURED — " + (bin.isEmpty()
          ? "no -Dllama.cpp.bin=<directory holding llama-server> given"
          : llamaServer + " is not an executable file");
      assertThat(System.getenv("CI")).as(why).isNotEqualTo("true"); // never a silent skip in CI
      System.out.println(why);
      return;
    }
    System.out.printf(Locale.ROOT, "UPSTREAM load average %.2f at start, %d cores%n", load(),
        Runtime.getRuntime().availableProcessors());
    // llama-server (b9928) ends a stream with an error event when the text holds NUL or broken
    // UTF-8 ("unparsed Content-only output"), which random weights write: the 0.5B shape's reserved
    // ids always do; on the tiny model the byte tokens are biased away (logit_bias, forwarded by the
    // edge like any request's) and the prompts are ones whose greedy answers stay clean
    Path log = Files.createTempFile("llama-server", ".log");
    System.out.println("UPSTREAM llama-server -np 4 --threads 2 -c 4096 (log " + log + ")");
    try (LlamaServerProcess llama = LlamaServerProcess.start(llamaServer.getParent(), TinyModel.path(), log,
        Duration.ofMinutes(3), "-np", "4", "--threads", "2", "-c", "4096");
        EdgeAgent edge = front(llama.port(), 4)) {
      cleanText = true;
      oneStream("llama-server -np 4 --threads 2, tiny-edge Q8_0", llama.port(), edge.httpPort(), 256, 20, 21);
      concurrent("llama-server -np 4 --threads 2, tiny-edge Q8_0", llama.port(), edge.httpPort(), 4, 256, 9);
    } finally {
      cleanText = false;
    }
    System.out.printf(Locale.ROOT, "UPSTREAM load average %.2f at the end%n", load());
  }

  /** An infermesh edge on {@code model}, one slot, one thread, no cache: the server under the proxy. */
  private static EdgeAgent infermeshServer(Path model) throws Exception {
    EdgeConfig config = TinyModel.config()
        .withModel(EdgeConfig.Model.builder().path(model).name("served").contextSize(1024).threads(1).parallel(1)
            .defaultMaxTokens(16).build())
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)));
    EdgeAgent agent = EdgeAgent.builder(config).start(); // loads on its own thread, which exits
    agent.awaitModel(Duration.ofMinutes(5));
    return agent;
  }

  /** The edge under test: local tier forwarded to {@code port}, no cache (every request reaches the server). */
  private static EdgeAgent front(int port, int concurrency) throws Exception {
    EdgeConfig config = EdgeConfig.defaults().withHttpPort(0)
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1))).toBuilder()
        .model(EdgeConfig.Model.builder().name("front").contextSize(1024).defaultMaxTokens(16).build())
        .engine(LocalEngine.Upstream.builder("http://127.0.0.1:" + port).model("served").maxConcurrency(concurrency)
            .build())
        .build();
    EdgeAgent agent = EdgeAgent.builder(config).start();
    agent.awaitModel(Duration.ofSeconds(30));
    return agent;
  }

  private static void oneStream(String label, int direct, int through, int maxTokens, int warmups, int rounds)
      throws Exception {
    String prompt = cleanText ? CLEAN_PROMPT : PROMPT;
    for (int i = 0; i < warmups; i++) {
      stream(direct, "served", prompt, maxTokens);
      stream(through, "front", prompt, maxTokens);
    }
    List<Sample> d = new ArrayList<>();
    List<Sample> t = new ArrayList<>();
    for (int i = 0; i < rounds; i++) {
      if (i % 2 == 0) {
        d.add(stream(direct, "served", prompt, maxTokens));
        t.add(stream(through, "front", prompt, maxTokens));
      } else {
        t.add(stream(through, "front", prompt, maxTokens));
        d.add(stream(direct, "served", prompt, maxTokens));
      }
    }
    // CPU time is what the load on a shared machine inflates least: both servers run in this JVM,
    // so the difference is the edge's own work
    double cpuDirect = d.stream().mapToLong(Sample::cpu).sum() / 1e6 / rounds;
    double cpuThrough = t.stream().mapToLong(Sample::cpu).sum() / 1e6 / rounds;
    System.out.printf(Locale.ROOT, "UPSTREAM %s, 1 stream: CPU of this JVM a request: direct %.2f ms, through the edge"
            + " %.2f ms: the edge adds %.2f ms a request, %.1f µs a token%n", label, cpuDirect, cpuThrough,
        cpuThrough - cpuDirect, (cpuThrough - cpuDirect) * 1000 / d.get(0).tokens());
    assertThat(t.get(0).tokens()).isEqualTo(d.get(0).tokens());
    boolean texts = d.get(0).firstText() > 0;
    double[] ratios = new double[rounds];
    double[] added = new double[rounds];
    for (int i = 0; i < rounds; i++) {
      ratios[i] = t.get(i).decodeRate(texts) / d.get(i).decodeRate(texts);
      added[i] = texts ? (t.get(i).firstText() - d.get(i).firstText()) / 1e6 : 0;
    }
    double dr = median(d.stream().mapToDouble(s -> s.decodeRate(texts)).toArray());
    double tr = median(t.stream().mapToDouble(s -> s.decodeRate(texts)).toArray());
    System.out.printf(Locale.ROOT, "UPSTREAM %s, 1 stream, %d tokens, %d rounds: %s direct %.1f tok/s, through the edge"
            + " %.1f tok/s, ratio of medians %.3f, median of paired ratios %.3f (%.1f µs a token)%n", label,
        d.get(0).tokens(), rounds, texts ? "decode" : "whole request", dr, tr, tr / dr, median(ratios),
        (1e6 / tr - 1e6 / dr));
    if (texts) { // the first text's delay shortens the window above: the whole request is the check on it
      double dw = median(d.stream().mapToDouble(s -> s.decodeRate(false)).toArray());
      double tw = median(t.stream().mapToDouble(s -> s.decodeRate(false)).toArray());
      System.out.printf(Locale.ROOT, "UPSTREAM %s, 1 stream: whole request (prefill included) direct %.1f tok/s,"
          + " through the edge %.1f tok/s, ratio of medians %.3f%n", label, dw, tw, tw / dw);
      double dt = median(d.stream().mapToDouble(s -> s.firstText() / 1e6).toArray());
      double tt = median(t.stream().mapToDouble(s -> s.firstText() / 1e6).toArray());
      double dmin = d.stream().mapToDouble(s -> s.firstText() / 1e6).min().orElseThrow();
      double tmin = t.stream().mapToDouble(s -> s.firstText() / 1e6).min().orElseThrow();
      System.out.printf(Locale.ROOT, "UPSTREAM %s, 1 stream: time to first token direct %.2f ms, through the edge"
          + " %.2f ms, added %.2f ms (median of paired differences %.2f ms; fastest of each %.2f vs %.2f ms: %+.2f ms)%n",
          label, dt, tt, tt - dt, median(added), dmin, tmin, tmin - dmin);
    }
  }

  private static void concurrent(String label, int direct, int through, int streams, int maxTokens, int rounds)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(streams);
    try {
      aggregate(pool, direct, "served", streams, maxTokens); // warm-up
      aggregate(pool, through, "front", streams, maxTokens);
      double[] d = new double[rounds];
      double[] t = new double[rounds];
      for (int i = 0; i < rounds; i++) {
        if (i % 2 == 0) {
          d[i] = aggregate(pool, direct, "served", streams, maxTokens);
          t[i] = aggregate(pool, through, "front", streams, maxTokens);
        } else {
          t[i] = aggregate(pool, through, "front", streams, maxTokens);
          d[i] = aggregate(pool, direct, "served", streams, maxTokens);
        }
      }
      double[] ratios = new double[rounds];
      Arrays.setAll(ratios, i -> t[i] / d[i]);
      System.out.printf(Locale.ROOT, "UPSTREAM %s, %d concurrent streams x %d tokens, %d rounds: aggregate direct"
              + " %.1f tok/s, through the edge %.1f tok/s, ratio of medians %.3f, median of paired ratios %.3f%n",
          label, streams, maxTokens, rounds, median(d), median(t), median(t) / median(d), median(ratios));
    } finally {
      pool.shutdownNow();
    }
  }

  /** {@code streams} requests at once, each its own prompt; tokens of all over the wall time. */
  private static double aggregate(ExecutorService pool, int port, String model, int streams, int maxTokens)
      throws Exception {
    long start = System.nanoTime();
    List<Future<Sample>> running = new ArrayList<>();
    for (int i = 0; i < streams; i++) {
      String prompt = CLEAN_PROMPT.replace("Story 0", "Story " + i);
      running.add(pool.submit(() -> stream(port, model, prompt, maxTokens)));
    }
    long tokens = 0;
    for (Future<Sample> f : running) {
      tokens += f.get().tokens();
    }
    return tokens / ((System.nanoTime() - start) / 1e9);
  }

  /**
   * One streamed raw completion, greedy: nanoseconds from sending to the first non-empty text (0
   * when none came) and to the end, and the completion tokens the usage reports.
   */
  private static Sample stream(int port, String model, String prompt, int maxTokens) throws IOException,
      InterruptedException {
    ObjectNode o = JSON.createObjectNode().put("model", model).put("prompt", prompt).put("max_tokens", maxTokens)
        .put("temperature", 0).put("stream", true);
    o.putObject("stream_options").put("include_usage", true);
    if (cleanText) {
      ObjectNode bias = o.putObject("logit_bias");
      for (int id = 0; id < 256; id++) { // the tiny vocabulary's byte tokens are ids 0-255
        if (id < 32 && id != '\t' && id != '\n' || id >= 127) {
          bias.put(String.valueOf(id), -100);
        }
      }
    }
    String body = o.toString();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
        .header("Content-Type", "application/json").timeout(Duration.ofMinutes(5))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    long cpu = cpuNanos();
    long start = System.nanoTime();
    HttpResponse<Stream<String>> r;
    try {
      r = CLIENT.send(request, HttpResponse.BodyHandlers.ofLines());
    } catch (IOException e) { // a pooled connection the server closed meanwhile: once more, on a fresh one
      r = CLIENT.send(request, HttpResponse.BodyHandlers.ofLines());
    }
    if (r.statusCode() != 200) {
      throw new IllegalStateException("port " + port + " answered " + r.statusCode() + ": "
          + String.join("\n", r.body().toList()));
    }
    long firstText = 0;
    int tokens = -1;
    int events = 0;
    try (Stream<String> lines = r.body()) {
      for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
        String line = it.next();
        if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
          continue;
        }
        JsonNode n = JSON.readTree(line.substring(6));
        if (n.hasNonNull("error")) {
          throw new IllegalStateException("port " + port + " failed mid-stream: " + n.get("error"));
        }
        if (n.path("choices").size() > 0) {
          events++;
          if (firstText == 0 && !n.at("/choices/0/text").asText("").isEmpty()) {
            firstText = System.nanoTime() - start;
          }
        }
        if (n.path("usage").isObject()) {
          tokens = n.at("/usage/completion_tokens").asInt();
        }
      }
    }
    long total = System.nanoTime() - start;
    return new Sample(firstText, total, tokens >= 0 ? tokens : events, cpuNanos() - cpu);
  }

  /**
   * One streamed request: nanoseconds to the first text (0: none) and to the end, tokens generated,
   * and this JVM's CPU nanoseconds meanwhile (client and servers).
   */
  private record Sample(long firstText, long total, int tokens, long cpu) {
    /** Tokens a second after the first text, or over the whole request when no text came. */
    double decodeRate(boolean fromFirstText) {
      return fromFirstText ? (tokens - 1) / ((total - firstText) / 1e9) : tokens / (total / 1e9);
    }
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static double load() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }
}
