package io.infermesh.edge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Completion;
import io.infermesh.edge.engine.LlamaEngine;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The benchmarks. Not part of {@code verify} (the class name does not match surefire's
 * test patterns); run with
 * {@code ./mvnw -o -pl edge-agent test -Dtest=EdgeBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * and read {@code target/surefire-reports/io.infermesh.edge.bench.EdgeBenchmark-output.txt}.
 *
 * <ul>
 *   <li>decode tokens/s (greedy, same prompt, whole request timed: the prompt is in llama.cpp's
 *       prompt cache after warm-up, so the time is mostly decode; and first token to last, which
 *       leaves out the request's fixed costs: parsing, routing, rendering the prompt) through the HTTP API (SSE, read by a
 *       raw-socket client up to {@code [DONE]}) against the same engine called in-process, on the
 *       tiny Q8_0 model and on a 0.5B-shaped Q4_0 model with random weights: the ratio of the
 *       medians, and the median of the ratios of adjacent runs (less sensitive to load drift); the
 *       same agent with {@code http.stream_flush_interval: 0} (a flush per token) as a second series,
 *       and the process CPU time per token of each path;
 *   <li>agent overhead on the cache-hit path: latency p50/p99 and requests/s at concurrency 1
 *       and 32 (keep-alive raw-socket clients in the same JVM, so client work shares the cores).
 * </ul>
 */
class EdgeBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int RUNS = 5;

  @Test
  void decodeThroughput_httpVersusInProcess() throws Exception {
    report("tiny-edge Q8_0", TinyModel.path(), 960, 41);
    Path half = TinyModels.write(TinyModelSpec.halfBillionShape(GgmlType.Q4_0), TinyModel.directory());
    report("half-billion-shape Q4_0", half, 128, 3);
  }

  private static void report(String label, Path model, int maxTokens, int runs) throws Exception {
    EdgeConfig.Model m = EdgeConfig.Model.builder().path(model).name("bench").contextSize(1024).threads(1)
        .defaultMaxTokens(16).build();
    LlamaEngine engine = LlamaEngine.load(m, 2);
    EdgeConfig base = TinyModel.config().withModel(m).withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)));
    EdgeConfig.Http h = base.http();
    // the same agent flushing every token: the writer's batching measured against no batching
    EdgeConfig everyToken = base.withHttp(h.toBuilder().streamFlushInterval(Duration.ZERO).build());
    try (EdgeAgent agent = EdgeAgent.builder(base).engine(engine).start();
        EdgeAgent unbatched = EdgeAgent.builder(everyToken).engine(engine).start()) {
      List<ChatMessage> chat = List.of(ChatMessage.of(Role.USER, "Write a long story about a lighthouse keeper."));
      Prompt prompt = engine.renderChat(chat);
      SamplingParams sampling = new SamplingParams(maxTokens, 0f, 1f, 0, OptionalLong.empty(), List.of());
      String body = "{\"model\": \"bench\", \"messages\": [{\"role\": \"user\", \"content\": "
          + "\"Write a long story about a lighthouse keeper.\"}], \"max_tokens\": " + maxTokens
          + ", \"temperature\": 0, \"stream\": true, \"stream_options\": {\"include_usage\": true}}";
      // warm up every path (also fills llama.cpp's prompt cache for the slot)
      inProcess(engine, prompt, sampling);
      overHttp(agent.httpPort(), body);
      overHttp(unbatched.httpPort(), body);
      double[] local = new double[runs];
      double[] http = new double[runs];
      double[] flushEach = new double[runs];
      double[] localDecode = new double[runs];
      double[] httpDecode = new double[runs];
      double[] localFirst = new double[runs];
      double[] httpFirst = new double[runs];
      double[] readAheadFirst = new double[runs];
      double[] tokenizeMs = new double[runs];
      double[] localCpu = new double[runs];
      double[] readAheadCpu = new double[runs];
      double[] httpCpu = new double[runs];
      double[] flushEachCpu = new double[runs];
      int tokens = 0;
      for (int i = 0; i < runs; i++) {
        long cpu0 = processCpuNanos();
        Rate a = inProcess(engine, prompt, sampling);
        long cpu1 = processCpuNanos();
        Rate b = overHttp(agent.httpPort(), body);
        long cpu2 = processCpuNanos();
        Rate c = overHttp(unbatched.httpPort(), body);
        long cpu3 = processCpuNanos();
        Rate d = readAhead(engine, prompt, sampling);
        long cpu4 = processCpuNanos();
        readAheadCpu[i] = cpu4 - cpu3;
        readAheadFirst[i] = (d.nanos() - d.decodeNanos()) / 1e6;
        long t0 = System.nanoTime();
        engine.renderChat(chat);
        tokenizeMs[i] = (System.nanoTime() - t0) / 1e6;
        local[i] = a.tokensPerSecond();
        http[i] = b.tokensPerSecond();
        flushEach[i] = c.tokensPerSecond();
        localDecode[i] = a.decodeTokensPerSecond();
        httpDecode[i] = b.decodeTokensPerSecond();
        localFirst[i] = (a.nanos() - a.decodeNanos()) / 1e6;
        httpFirst[i] = (b.nanos() - b.decodeNanos()) / 1e6;
        // summed, not per run: the process CPU clock ticks in milliseconds
        localCpu[i] = cpu1 - cpu0;
        httpCpu[i] = cpu2 - cpu1;
        flushEachCpu[i] = cpu3 - cpu2;
        tokens = b.tokens();
      }
      double localMedian = median(local);
      double httpMedian = median(http);
      // each HTTP run against the in-process run just before it: load on the machine drifts, and a
      // pair sees nearly the same load
      double[] paired = new double[runs];
      double[] pairedEach = new double[runs];
      double[] pairedDecode = new double[runs];
      for (int i = 0; i < runs; i++) {
        pairedDecode[i] = httpDecode[i] / localDecode[i];
        paired[i] = http[i] / local[i];
        pairedEach[i] = flushEach[i] / local[i];
      }
      System.out.printf(Locale.ROOT, "DECODE %-24s tokens=%d runs=%d in-process=%.1f tok/s http=%.1f tok/s ratio=%.3f"
          + " paired-ratio=%.3f%n", label, tokens, runs, localMedian, httpMedian, httpMedian / localMedian,
          median(paired));
      System.out.printf(Locale.ROOT, "DECODE %-24s first token to last: in-process=%.1f tok/s http=%.1f tok/s"
          + " ratio=%.3f paired-ratio=%.3f%n", label, median(localDecode), median(httpDecode),
          median(httpDecode) / median(localDecode), median(pairedDecode));
      System.out.printf(Locale.ROOT, "DECODE %-24s time to first token (medians): in-process=%.2f ms"
          + " in-process-read-ahead=%.2f ms http=%.2f ms (rendering and tokenizing the chat: %.2f ms)%n",
          label, median(localFirst), median(readAheadFirst), median(httpFirst), median(tokenizeMs));
      System.out.printf(Locale.ROOT, "DECODE %-24s http flushing every token: %.1f tok/s ratio=%.3f paired-ratio=%.3f%n",
          label, median(flushEach), median(flushEach) / localMedian, median(pairedEach));
      // CPU time of the whole process (llama.cpp's threads included) per token over all runs: what
      // each path costs beyond decoding, much less sensitive to other load than tokens/s
      double allTokens = (double) tokens * runs * 1e3; // and nanoseconds to microseconds
      System.out.printf(Locale.ROOT, "DECODE %-24s cpu per token (all runs): in-process=%.1f us"
          + " in-process-read-ahead=%.1f us http=%.1f us http-flushing-every-token=%.1f us%n", label,
          sum(localCpu) / allTokens, sum(readAheadCpu) / allTokens, sum(httpCpu) / allTokens,
          sum(flushEachCpu) / allTokens);
      System.out.printf(Locale.ROOT, "DECODE %-24s in-process runs %s%n", label, Arrays.toString(round(local)));
      System.out.printf(Locale.ROOT, "DECODE %-24s http runs       %s%n", label, Arrays.toString(round(http)));
    } finally {
      engine.close();
    }
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /**
   * Tokens generated, the nanoseconds the whole request took, and those from the first token to
   * the end (decode alone: no request handling, routing or prompt).
   */
  record Rate(int tokens, long nanos, long decodeNanos) {
    double tokensPerSecond() {
      return tokens / (nanos / 1e9);
    }

    double decodeTokensPerSecond() {
      return (tokens - 1) / (decodeNanos / 1e9);
    }
  }

  private static Rate inProcess(LlamaEngine engine, Prompt prompt, SamplingParams sampling) {
    long[] first = new long[1];
    long started = System.nanoTime();
    Completion c = engine.generate(prompt, sampling, text -> {
      if (first[0] == 0) {
        first[0] = System.nanoTime();
      }
    }, () -> false);
    long ended = System.nanoTime();
    return new Rate(c.completionTokens(), ended - started, ended - first[0]);
  }

  /** The engine's read-ahead generation (what the HTTP path pulls from), drained in-process. */
  private static Rate readAhead(LlamaEngine engine, Prompt prompt, SamplingParams sampling) {
    long started = System.nanoTime();
    try (var g = engine.start(prompt, sampling, () -> false)) {
      long first = 0;
      while (g.next() != null) {
        first = first == 0 ? System.nanoTime() : first;
      }
      long ended = System.nanoTime();
      return new Rate(g.completion().completionTokens(), ended - started, ended - first);
    }
  }

  /** One streamed request, timed from the first request byte to the {@code [DONE]} event. */
  private static Rate overHttp(int port, String body) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setTcpNoDelay(true);
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      byte[] head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + bytes.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      OutputStream out = socket.getOutputStream();
      long started = System.nanoTime();
      out.write(head);
      out.write(bytes);
      out.flush();
      int tokens = -1;
      long first = 0; // the first event comes with the first token
      for (String line; (line = in.readLine()) != null; ) {
        if (first == 0 && line.startsWith("data: ")) {
          first = System.nanoTime();
        }
        if (line.startsWith("data: {") && line.contains("\"usage\":{")) {
          tokens = JSON.readTree(line.substring(6)).at("/usage/completion_tokens").asInt();
        } else if (line.equals("data: [DONE]")) {
          long ended = System.nanoTime();
          assertThat(tokens).isPositive();
          return new Rate(tokens, ended - started, ended - first);
        }
      }
      throw new IOException("the stream ended without [DONE]");
    }
  }

  @Test
  void cacheHitPath_latencyAndThroughput() throws Exception {
    EdgeConfig config = TinyModel.config();
    try (EdgeAgent agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start()) {
      byte[] request = request("{\"model\": \"tiny-edge\", \"messages\": [{\"role\": \"user\", \"content\": "
          + "\"What is the capital of France?\"}], \"max_tokens\": 16, \"temperature\": 0}");
      try (KeepAliveClient client = new KeepAliveClient(agent.httpPort())) {
        JsonNode primed = JSON.readTree(client.send(request));
        assertThat(primed.at("/choices/0/message/content").isTextual()).isTrue();
        assertThat(client.lastRoute).isEqualTo("edge");
        for (int i = 0; i < 2000; i++) {
          client.send(request); // warm-up: JIT and connection
        }
        assertThat(client.lastRoute).isEqualTo("cache");
      }
      load(agent.httpPort(), request, 1, 5000);
      load(agent.httpPort(), request, 32, 600);
    }
  }

  private static void load(int port, byte[] request, int concurrency, int perClient) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
    try {
      List<Future<long[]>> results = new ArrayList<>();
      long started = System.nanoTime();
      for (int c = 0; c < concurrency; c++) {
        results.add(pool.submit(() -> {
          long[] latencies = new long[perClient];
          try (KeepAliveClient client = new KeepAliveClient(port)) {
            for (int i = 0; i < perClient; i++) {
              long t0 = System.nanoTime();
              client.send(request);
              latencies[i] = System.nanoTime() - t0;
              if (!"cache".equals(client.lastRoute)) {
                throw new AssertionError("not a cache hit: " + client.lastRoute);
              }
            }
          }
          return latencies;
        }));
      }
      List<Long> all = new ArrayList<>();
      for (Future<long[]> f : results) {
        for (long l : f.get()) {
          all.add(l);
        }
      }
      long elapsed = System.nanoTime() - started;
      all.sort(null);
      System.out.printf(Locale.ROOT, "CACHE-HIT concurrency=%d requests=%d p50=%.3f ms p99=%.3f ms throughput=%.0f req/s%n",
          concurrency, all.size(), all.get(all.size() / 2) / 1e6, all.get((int) (all.size() * 0.99)) / 1e6,
          all.size() / (elapsed / 1e9));
    } finally {
      pool.shutdownNow();
    }
  }

  private static byte[] request(String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    byte[] head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] all = Arrays.copyOf(head, head.length + bytes.length);
    System.arraycopy(bytes, 0, all, head.length, bytes.length);
    return all;
  }

  /** A minimal HTTP/1.1 keep-alive client for responses with a Content-Length. Confined to one thread. */
  private static final class KeepAliveClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    String lastRoute;

    KeepAliveClient(int port) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setTcpNoDelay(true);
      in = new BufferedInputStream(socket.getInputStream(), 65536);
      out = socket.getOutputStream();
    }

    String send(byte[] request) throws IOException {
      out.write(request);
      out.flush();
      int length = -1;
      int status = -1;
      for (String line; !(line = readLine()).isEmpty(); ) {
        String lower = line.toLowerCase(Locale.ROOT);
        if (status < 0) {
          status = Integer.parseInt(line.split(" ")[1]);
        } else if (lower.startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).strip());
        } else if (lower.startsWith("x-infermesh-route:")) {
          lastRoute = line.substring(18).strip();
        }
      }
      byte[] body = in.readNBytes(length);
      if (status != 200) {
        throw new IOException("status " + status + ": " + new String(body, StandardCharsets.UTF_8));
      }
      return new String(body, StandardCharsets.UTF_8);
    }

    private String readLine() throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream(64);
      for (int b; (b = in.read()) != '\n'; ) {
        if (b < 0) {
          throw new IOException("connection closed");
        }
        if (b != '\r') {
          line.write(b);
        }
      }
      return line.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private static double sum(double[] values) {
    return Arrays.stream(values).sum();
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static double[] round(double[] values) {
    return Arrays.stream(values).map(v -> Math.round(v * 10) / 10.0).toArray();
  }
}
