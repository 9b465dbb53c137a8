package io.infermesh.edge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.EdgeConfigLoader;
import io.infermesh.edge.engine.LlamaEngine;
import io.infermesh.edge.engine.NativeLibraryProbe;
import io.infermesh.edge.engine.ProbeProcess;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The edge tier beside native llama.cpp (issue 19's edge rows): a real in-process {@code infermesh}
 * edge and a real {@code llama-server} on the same GGUF with the same threads, measured interleaved
 * (edge, server, edge, server, ...) over HTTP SSE, medians of {@code -Dbench.rounds} rounds
 * (default 3), with the ratio edge / server and the load average before and after.
 *
 * <p>Not part of {@code verify} (the name matches no surefire pattern). Run:
 * <pre>{@code
 * ./mvnw -o -B -pl edge-agent -am test -Dtest=EdgeVsLlamaCppBenchmark \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Dllama.cpp.bin=/path/to/llama.cpp/build/bin
 * }</pre>
 * and read {@code edge-agent/target/surefire-reports/io.infermesh.edge.bench.EdgeVsLlamaCppBenchmark-output.txt}.
 * Without {@code -Dllama.cpp.bin} (or {@code LLAMA_CPP_BIN}) the llama-server columns say so and
 * only infermesh is measured.
 *
 * <p>Model: {@link TinyModelSpec#halfBillionWords} Q4_0 (Qwen2.5-0.5B's shape, random weights, a
 * vocabulary whose tokens decode to words, so streams carry text). Rows:
 * <ul>
 *   <li>decode tok/s at 1 and 2 threads: one stream, greedy, {@value #DECODE_TOKENS} tokens, the
 *       prompt already in each server's prompt cache; tokens from the final {@code usage}, rate from
 *       the first content event to the last;
 *   <li>time to first token at 1 thread for a fresh ~232-token prompt (a new first word each round,
 *       so neither side reuses a cached prefix);
 *   <li>4 concurrent streams at 2 threads ({@code model.parallel: 4} / {@code -np 4}): all tokens
 *       over the wall time from the first request to the last end;
 *   <li>the edge with {@code engine: upstream} in front of the same llama-server (n/a until that
 *       engine exists in this build);
 *   <li>the OpenMP thread trap: the binding called in-process at 2 threads, loaded on a thread that
 *       exits versus on the measuring thread that stays alive;
 *   <li>{@code native}: the edge on a {@code libjllama.so} built for this CPU ({@code
 *       -Dedge.binding.lib=DIR}, e.g. by {@code edge-agent/native/build-binding.sh}) beside the edge on
 *       the bundled one and llama-server, interleaved: greedy text equal on both libraries, time to
 *       first token at 1 thread, decode at 1 and 2 threads, and at 2 threads the binding alone
 *       in-process (no infermesh code) with the CPU each thread name of the 2-thread processes
 *       used per token ({@code /proc/PID/task}). A JVM loads the binding's library once, so both
 *       edges run as child JVMs with the same flags ({@link ProbeProcess}).
 * </ul>
 */
class EdgeVsLlamaCppBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final int DECODE_TOKENS = Integer.getInteger("bench.tokens", 128);
  private static final int STREAM_TOKENS = DECODE_TOKENS * 3 / 4;
  private static final int PROMPT_TOKENS = 232;
  private static final int CONTEXT = 1024;
  static final String SENTENCE = "The keeper of the lighthouse walked along the river at dawn and "
      + "counted the boats that came in from the sea. ";
  /** Rows as they are measured, for a long run watched from outside. */
  private static final Path PROGRESS = Path.of("target", "edge-vs-llama-cpp.txt").toAbsolutePath();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  final int rounds = Integer.getInteger("bench.rounds", 3);
  private final Optional<Path> bin = llamaCppBin();
  private final List<String> rows = List.of(System.getProperty("bench.rows", "decode1,ttft,decode2,concurrent,upstream,trap,native")
      .split(","));
  private final List<String> table = new ArrayList<>();

  @Test
  void edgeBesideLlamaServer() throws Exception {
    Path model = TinyModels.write(TinyModelSpec.halfBillionWords(GgmlType.Q4_0), TinyModel.directory());
    String loadBefore = loadAverage();
    add("started " + Instant.now() + ", load average " + loadBefore);
    System.out.printf("model %s (%d MB), rounds %d, %d CPUs, load average %s%n", model.getFileName(),
        Files.size(model) >> 20, rounds, Runtime.getRuntime().availableProcessors(), loadBefore);
    System.out.println(bin.map(b -> "llama.cpp: " + b + " (" + LlamaServerProcess.version(b) + ")")
        .orElse("llama.cpp: ABSENT: pass -Dllama.cpp.bin=<llama.cpp>/build/bin (or set LLAMA_CPP_BIN); "
            + "the llama-server column says n/a"));
    table.add("| tier / measure | infermesh | llama-server | ratio |");
    table.add("|---|---|---|---|");

    if (rows.contains("decode1") || rows.contains("ttft")) {
      try (Side edge = Side.edge(model, 1, 1); Side server = Side.server(bin, model, 1, 1)) {
        if (rows.contains("decode1")) {
          decodeRow("edge, 0.5B-shape Q4_0, decode 1 thread, HTTP SSE", edge, server);
        }
        if (rows.contains("ttft")) {
          ttftRow(edge, server, sentencesFor(edge));
        }
      }
    }
    if (rows.contains("decode2")) {
      try (Side edge = Side.edge(model, 2, 1); Side server = Side.server(bin, model, 2, 1)) {
        decodeRow("edge, same, decode 2 threads", edge, server);
      }
    }
    if (rows.contains("concurrent") || rows.contains("upstream")) {
      try (Side edge = Side.edge(model, 2, 4); Side server = Side.server(bin, model, 2, 4)) {
        if (rows.contains("concurrent")) {
          concurrentRow(edge, server);
        }
        if (rows.contains("upstream")) {
          edgeViaUpstream(model, server);
        }
      }
    }
    if (rows.contains("trap")) {
      trapRow(model);
    }
    if (rows.contains("native") || rows.contains("native1") || rows.contains("native2")) {
      // native1 / native2: only its 1-thread or 2-thread half
      new NativeBindingRows(this, model, bin).run(!rows.contains("native2") || rows.contains("native"),
          !rows.contains("native1") || rows.contains("native"));
    }

    System.out.println();
    System.out.println("load average before " + loadBefore + ", after " + loadAverage() + " (" + rounds
        + " rounds, medians, interleaved)");
    table.forEach(System.out::println);
  }

  // ---------------------------------------------------------------- rows

  private void decodeRow(String label, Side edge, Side server) throws Exception {
    String body = chat(SENTENCE, DECODE_TOKENS, true);
    edge.stream(body);
    server.stream(body); // warm-up: the prompt is cached on both sides from here on
    double[] e = new double[rounds];
    double[] s = new double[rounds];
    for (int i = 0; i < rounds; i++) {
      e[i] = edge.stream(body).decodeRate();
      s[i] = server.stream(body).decodeRate();
    }
    row(label, median(e), median(s), "%.1f tok/s");
  }

  private void ttftRow(Side edge, Side server, int sentences) throws Exception {
    double[] e = new double[rounds];
    double[] s = new double[rounds];
    int promptTokens = 0;
    for (int i = 0; i < rounds; i++) {
      // a new first word each round: no cached prefix on either side
      String text = "Round " + (i + 1) + " " + System.nanoTime() + ". " + SENTENCE.repeat(sentences);
      SseStream.Result a = edge.stream(chat(text, 2, true));
      e[i] = a.firstTokenMillis();
      promptTokens = a.promptTokens();
      s[i] = server.stream(chat(text, 2, true)).firstTokenMillis();
    }
    row("edge, time to first token, " + promptTokens + "-token prompt, 1 thread", median(e), median(s), "%.0f ms",
        true);
  }

  private void concurrentRow(Side edge, Side server) throws Exception {
    String body = chat(SENTENCE, STREAM_TOKENS, true);
    edge.concurrent(body, 4);
    server.concurrent(body, 4);
    double[] e = new double[rounds];
    double[] s = new double[rounds];
    for (int i = 0; i < rounds; i++) {
      e[i] = edge.concurrent(body, 4);
      s[i] = server.concurrent(body, 4);
    }
    row("edge, 4 concurrent streams, 2 threads, aggregate (`-np 4`)", median(e), median(s), "%.1f tok/s");
  }

  /**
   * The hook for {@code engine: upstream}: an edge configured through the real YAML loader to send
   * its local tier to the running llama-server.
   */
  private void edgeViaUpstream(Path model, Side server) throws Exception {
    String label = "edge via `engine: upstream` → llama-server `-np 4`, 4 streams, 2 threads";
    if (server.port() < 0) {
      add("| " + label + " | n/a | n/a: llama.cpp absent | |");
      return;
    }
    String yaml = "http:\n  port: 0\n  host: 127.0.0.1\ncache:\n  enabled: false\n"
        + "model:\n  name: bench\n  context_size: " + CONTEXT + "\n"
        + "engine:\n  type: upstream\n  upstream:\n    url: http://127.0.0.1:" + server.port() + "\n    model: bench\n"
        + "    max_concurrency: 4\n";
    EdgeConfig config = EdgeConfigLoader.parse(yaml, model.getParent());
    try (Side upstream = Side.agent(config, "edge→upstream")) {
      String body = chat(SENTENCE, STREAM_TOKENS, true);
      upstream.concurrent(body, 4);
      double[] u = new double[rounds];
      double[] s = new double[rounds];
      for (int i = 0; i < rounds; i++) {
        u[i] = upstream.concurrent(body, 4);
        s[i] = server.concurrent(body, 4);
      }
      row(label, median(u), median(s), "%.1f tok/s");
    }
  }

  /**
   * The binding in-process at 2 threads, one stream: loaded on a thread that exits (what every
   * infermesh load does) against loaded on the measuring thread, which stays alive and keeps its
   * OpenMP team. One model at a time: libgomp's spin policy is per process.
   */
  private void trapRow(Path model) throws Exception {
    ModelParameters params = new ModelParameters().setModel(model.toString()).setCtxSize(CONTEXT).setThreads(2)
        .setThreadsBatch(2).disableLog();
    LlamaEngine.class.getName(); // the engine claims the native library's directory first
    List<Double> clean = new ArrayList<>();
    List<Double> trapped = new ArrayList<>();
    for (int i = 0; i < rounds; i++) { // alternated, a fresh load each time: load drift hits both alike
      clean.add(onFreshThread(() -> {
        LlamaModel m = onFreshThread(() -> new LlamaModel(params)); // the loader exits
        try (m) {
          return inProcessRate(m);
        }
      }));
      trapped.add(onFreshThread(() -> {
        try (LlamaModel m = new LlamaModel(params)) { // loaded here; this thread measures, then exits
          return inProcessRate(m);
        }
      }));
    }
    double c = median(clean.stream().mapToDouble(Double::doubleValue).toArray());
    double t = median(trapped.stream().mapToDouble(Double::doubleValue).toArray());
    add(String.format(Locale.ROOT, "| binding in-process, decode 2 threads: loaded on a live thread (trap) "
        + "vs on a thread that exits | %.1f tok/s | %.1f tok/s (not llama-server: the clean load) | %.2f |", t, c, t / c));
  }

  /** One warm-up generation (it fills the prompt cache), then one measured. */
  private static double inProcessRate(LlamaModel model) {
    InferenceParameters p = new InferenceParameters(SENTENCE).setNPredict(DECODE_TOKENS).setTemperature(0f)
        .setCachePrompt(true);
    rate(model, p);
    return rate(model, p);
  }

  private static double rate(LlamaModel model, InferenceParameters p) {
    return NativeLibraryProbe.decodeRate(model, p);
  }

  private static <T> T onFreshThread(Callable<T> work) throws Exception {
    CompletableFuture<T> result = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        result.complete(work.call());
      } catch (Exception | Error e) {
        result.completeExceptionally(e);
      }
    }, "bench-worker");
    t.start();
    T value = result.get(10, TimeUnit.MINUTES);
    t.join();
    return value;
  }

  /** Keeps a table row and prints it at once (a long run that fails later still shows what it measured). */
  void add(String row) {
    table.add(row);
    System.out.println(row);
    try { // surefire keeps a test's output until it ends
      Files.writeString(PROGRESS, row + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      System.out.println("cannot append to " + PROGRESS + ": " + e.getMessage());
    }
  }

  private void row(String label, double edge, double server, String format) {
    row(label, edge, server, format, false);
  }

  /** {@code lowerIsBetter}: the ratio is server / edge, so above 1 still means the edge is ahead. */
  private void row(String label, double edge, double server, String format, boolean lowerIsBetter) {
    String e = String.format(Locale.ROOT, format, edge);
    if (Double.isNaN(server)) {
      add("| " + label + " | " + e + " | n/a: llama.cpp absent | |");
      return;
    }
    double ratio = lowerIsBetter ? server / edge : edge / server;
    add(String.format(Locale.ROOT, "| %s | %s | %s | %.2f |", label, e, String.format(Locale.ROOT, format,
        server), ratio));
  }

  /** How many {@link #SENTENCE}s make a chat of about {@value #PROMPT_TOKENS} prompt tokens on this model. */
  static int sentencesFor(Side edge) throws Exception {
    int one = edge.stream(chat("Round 0. " + SENTENCE, 1, true)).promptTokens();
    int two = edge.stream(chat("Round 0. " + SENTENCE.repeat(2), 1, true)).promptTokens();
    int perSentence = Math.max(1, two - one);
    return Math.max(1, Math.round((PROMPT_TOKENS - (one - perSentence)) / (float) perSentence));
  }

  static String chat(String content, int maxTokens, boolean stream) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", "bench");
    body.putArray("messages").addObject().put("role", "user").put("content", content);
    body.put("max_tokens", maxTokens);
    body.put("temperature", 0);
    body.put("stream", stream);
    body.putObject("stream_options").put("include_usage", true);
    return body.toString();
  }

  // ---------------------------------------------------------------- the two sides

  /** One OpenAI-compatible server under test: an infermesh edge or a llama-server. */
  interface Side extends AutoCloseable {
    /** The port, or -1 when this side is absent (every measure is then NaN). */
    int port();

    default SseStream.Result stream(String body) throws IOException, InterruptedException {
      return port() < 0 ? SseStream.Result.ABSENT : SseStream.run(port(), body);
    }

    /** {@code n} concurrent streams of {@code body}: all completion tokens over the wall time, tok/s. */
    default double concurrent(String body, int n) throws Exception {
      if (port() < 0) {
        return Double.NaN;
      }
      ExecutorService pool = Executors.newFixedThreadPool(n);
      try {
        long start = System.nanoTime();
        List<Future<SseStream.Result>> streams = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          streams.add(pool.submit(() -> SseStream.run(port(), body)));
        }
        long tokens = 0;
        for (Future<SseStream.Result> f : streams) {
          tokens += f.get(10, TimeUnit.MINUTES).tokens();
        }
        return tokens / ((System.nanoTime() - start) / 1e9);
      } finally {
        pool.shutdownNow();
      }
    }

    @Override
    void close() throws Exception;

    /** Ends whatever serves a side. */
    @FunctionalInterface
    interface Closer {
      void close() throws Exception;
    }

    /** A side answering on {@code port} (-1: absent), ended by {@code closer}. */
    static Side of(int port, Closer closer) {
      return new Side() {
        @Override
        public int port() {
          return port;
        }

        @Override
        public void close() throws Exception {
          closer.close();
        }
      };
    }

    static Side edge(Path model, int threads, int parallel) throws Exception {
      EdgeConfig.Model m = EdgeConfig.Model.builder().path(model).name("bench").contextSize(CONTEXT).threads(threads)
          .parallel(parallel).defaultMaxTokens(16).build();
      EdgeConfig config = TinyModel.config().withModel(m).withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)));
      return agent(config, "infermesh edge");
    }

    static Side agent(EdgeConfig config, String what) throws Exception {
      EdgeAgent agent = EdgeAgent.builder(config).start();
      agent.awaitModel(Duration.ofMinutes(5));
      System.out.printf("%s: threads %d, parallel %d, port %d%n", what, config.model().threads(),
          config.model().parallel(), agent.httpPort());
      return of(agent.httpPort(), agent::close);
    }

    /** An edge in a {@link ProbeProcess} child, at the port it printed; closing it ends the child. */
    static Side probe(ProbeProcess child) throws Exception {
      int port = Integer.parseInt(child.expect("port"));
      return of(port, child::close);
    }

    static Side server(Optional<Path> bin, Path model, int threads, int parallel) throws Exception {
      if (bin.isEmpty()) {
        return of(-1, () -> { });
      }
      Path log = Path.of("target", "llama-server-" + threads + "t-" + parallel + "np.log").toAbsolutePath();
      LlamaServerProcess server = LlamaServerProcess.start(bin.get(), model, log, Duration.ofMinutes(5),
          "-t", "" + threads, "-tb", "" + threads, "-c", "" + CONTEXT * parallel, "-np", "" + parallel, "--alias",
          "bench");
      System.out.printf("llama-server: -t %d -np %d, port %d, log %s%n", threads, parallel, server.port(), log);
      return of(server.port(), server::close);
    }
  }

  /** One streamed chat completion read event by event. */
  static final class SseStream {
    record Result(long sent, long firstContent, long lastContent, int tokens, int promptTokens) {
      static final Result ABSENT = new Result(0, 0, 0, 0, 0);

      double firstTokenMillis() {
        return this == ABSENT ? Double.NaN : (firstContent - sent) / 1e6;
      }

      /** Tokens after the first over the time from the first content event to the last. */
      double decodeRate() {
        return this == ABSENT ? Double.NaN : (tokens - 1) / ((lastContent - firstContent) / 1e9);
      }
    }

    static Result run(int port, String body) throws IOException, InterruptedException {
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
          .header("content-type", "application/json").timeout(Duration.ofMinutes(10))
          .POST(HttpRequest.BodyPublishers.ofString(body)).build();
      long sent = System.nanoTime();
      HttpResponse<Stream<String>> response = HTTP.send(request, HttpResponse.BodyHandlers.ofLines());
      if (response.statusCode() != 200) {
        throw new IOException("HTTP " + response.statusCode() + " from port " + port);
      }
      long first = 0;
      long last = 0;
      int events = 0;
      int tokens = -1;
      int promptTokens = 0;
      Iterator<String> lines = response.body().iterator();
      while (lines.hasNext()) {
        String line = lines.next();
        if (!line.startsWith("data:")) {
          continue;
        }
        String data = line.substring(5).strip();
        if (data.equals("[DONE]")) {
          break;
        }
        long now = System.nanoTime();
        JsonNode chunk = JSON.readTree(data);
        JsonNode content = chunk.path("choices").path(0).path("delta").path("content");
        if (content.isTextual() && !content.asText().isEmpty()) {
          if (events == 0) {
            first = now;
          }
          last = now;
          events++;
        }
        JsonNode usage = chunk.path("usage");
        if (usage.has("completion_tokens")) {
          tokens = usage.get("completion_tokens").asInt();
          promptTokens = usage.path("prompt_tokens").asInt();
        }
      }
      if (events == 0) {
        throw new IOException("no content streamed from port " + port + " (is the vocabulary of words in use?)");
      }
      return new Result(sent, first, last, tokens >= 0 ? tokens : events, promptTokens);
    }
  }

  // ---------------------------------------------------------------- environment

  private static Optional<Path> llamaCppBin() {
    String dir = Optional.ofNullable(System.getProperty("llama.cpp.bin")).orElse(System.getenv("LLAMA_CPP_BIN"));
    if (dir == null || dir.isBlank()) {
      return Optional.empty();
    }
    Path bin = Path.of(dir);
    if (!Files.isExecutable(bin.resolve("llama-server"))) {
      System.out.println("llama.cpp: no executable llama-server in " + bin);
      return Optional.empty();
    }
    return Optional.of(bin);
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "unknown";
    }
  }

  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    if (v.length == 0) {
      return Double.NaN;
    }
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
