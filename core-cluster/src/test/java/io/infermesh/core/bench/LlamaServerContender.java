package io.infermesh.core.bench;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Native llama.cpp's {@code llama-server} on the same GGUF: restarted with {@code -np N} (N slots,
 * {@code 512 × N} context, continuous batching) whenever the stream count changes, and sent N
 * concurrent streaming {@code /completion} requests over HTTP with the prompt as token ids
 * (greedy, {@code ignore_eos}, no prompt cache, as the core runs with its prefix cache off). Tokens
 * are timed as their SSE chunks arrive. Weights are read into memory ({@code --no-mmap}), as the core
 * holds them: on a machine short of page cache a mapped file is re-read from disk while it decodes.
 */
final class LlamaServerContender implements Contender {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path server;
  private final Path gguf;
  private final int threads;
  private final Path log;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final ExecutorService streams = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "llama-server-stream");
    t.setDaemon(true);
    return t;
  });
  private Process process;
  private int slots;
  private int port;

  LlamaServerContender(Path server, Path gguf, int threads, Path log) {
    this.server = server;
    this.gguf = gguf;
    this.threads = threads;
    this.log = log;
  }

  @Override
  public String name() {
    return "llama-server";
  }

  @Override
  public DecodeRun run(int[][] prompts, int maxTokens) throws Exception {
    ensureSlots(prompts.length);
    int n = prompts.length;
    long[] first = new long[n];
    long[] end = new long[n];
    int[][] tokens = new int[n][];
    List<Future<?>> running = new ArrayList<>();
    for (int s = 0; s < n; s++) {
      int stream = s;
      running.add(streams.submit(() -> {
        stream(prompts[stream], maxTokens, stream, first, end, tokens);
        return null;
      }));
    }
    for (Future<?> f : running) {
      f.get(10, TimeUnit.MINUTES);
    }
    return DecodeRun.of(first, end, tokens);
  }

  private void stream(int[] prompt, int maxTokens, int s, long[] first, long[] end, int[][] tokens) throws Exception {
    ObjectNode body = JSON.createObjectNode();
    body.set("prompt", JSON.valueToTree(prompt));
    body.put("n_predict", maxTokens).put("temperature", 0).put("top_k", 1).put("ignore_eos", true)
        .put("cache_prompt", false).put("stream", true).put("return_tokens", true);
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/completion"))
        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build();
    HttpResponse<Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
    if (response.statusCode() != 200) {
      throw new IOException("llama-server answered " + response.statusCode() + " (see " + log + ")");
    }
    int[] got = new int[0];
    try (Stream<String> lines = response.body()) {
      for (String line : (Iterable<String>) lines::iterator) {
        if (!line.startsWith("data: ")) {
          continue;
        }
        long now = System.nanoTime();
        JsonNode chunk = JSON.readTree(line.substring(6));
        JsonNode ids = chunk.path("tokens");
        if (ids.size() > 0) {
          if (got.length == 0) {
            first[s] = now;
          }
          int at = got.length;
          got = Arrays.copyOf(got, at + ids.size());
          for (int i = 0; i < ids.size(); i++) {
            got[at + i] = ids.get(i).asInt();
          }
          end[s] = now;
        }
        if (chunk.path("stop").asBoolean(false)) {
          break;
        }
      }
    }
    tokens[s] = got;
  }

  private void ensureSlots(int n) throws Exception {
    if (process != null && process.isAlive() && slots == n) {
      return;
    }
    stop();
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    String t = Integer.toString(threads);
    process = new ProcessBuilder(server.toString(), "-m", gguf.toString(), "--host", "127.0.0.1", "--port",
        Integer.toString(port), "--threads", t, "--threads-batch", t, "-np", Integer.toString(n), "-c",
        Integer.toString(512 * n), "-ngl", "0", "--cache-ram", "0", "--no-mmap")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    slots = n;
    HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build();
    await("llama-server -np " + n + " healthy (log: " + log + ")").atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofMillis(200)).ignoreException(ConnectException.class).until(() -> {
          if (!process.isAlive()) {
            throw new IllegalStateException("llama-server exited with " + process.exitValue() + "; see " + log);
          }
          return http.send(health, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        });
  }

  private void stop() throws InterruptedException {
    if (process != null) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      process = null;
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
    streams.shutdownNow();
  }
}
