package io.infermesh.core.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible server for tests, on the JDK's HTTP server on port 0: {@code /v1/models},
 * and {@code /v1/completions} / {@code /v1/chat/completions} streamed as server-sent events the way
 * OpenAI (and vLLM) stream them. What it answers depends on the prompt (or the last chat message):
 * {@code fail-400}, {@code fail-429}, {@code fail-500}, {@code error-mid-stream}, {@code slow}
 * (a chunk every 20 ms for 10 s, counting connections the client closed); anything else streams
 * "Hello", " from", " upstream" — finish {@code length} when max_tokens is 3, else {@code stop} —
 * then a usage chunk and {@code [DONE]}. Built with an API key, it answers 401 (echoing the key
 * it got, as some servers do) to every request without {@code Authorization: Bearer <key>}.
 */
public final class FakeOpenAiServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  /** Request bodies, in arrival order. */
  public final List<JsonNode> bodies = new CopyOnWriteArrayList<>();
  /** Request paths, in arrival order. */
  public final List<String> paths = new CopyOnWriteArrayList<>();
  /** X-Request-Id headers, in arrival order. */
  public final List<String> requestIds = new CopyOnWriteArrayList<>();
  /** Slow streams whose connection the client closed. */
  public final AtomicInteger closedByClient = new AtomicInteger();
  /** Slow streams running now. */
  public final AtomicInteger slowStreams = new AtomicInteger();
  /** Authorization headers ("" when absent) of every request, health probes included, in arrival order. */
  public final List<String> authorizations = new CopyOnWriteArrayList<>();
  private final String apiKey; // null: no key needed

  public FakeOpenAiServer() throws IOException {
    this(null);
  }

  /** A server that wants {@code apiKey} (null: none). */
  public FakeOpenAiServer(String apiKey) throws IOException {
    this.apiKey = apiKey;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    server.setExecutor(threads);
    server.createContext("/v1/models", ex -> {
      if (authorized(ex)) {
        respond(ex, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"up-model\",\"object\":\"model\"}]}");
      }
    });
    server.createContext("/v1/completions", ex -> {
      if (authorized(ex)) {
        complete(ex, false);
      }
    });
    server.createContext("/v1/chat/completions", ex -> {
      if (authorized(ex)) {
        complete(ex, true);
      }
    });
    server.start();
  }

  /** Records the Authorization header; answers 401 and returns false when the key is wanted and wrong. */
  private boolean authorized(HttpExchange ex) throws IOException {
    String given = ex.getRequestHeaders().getFirst("Authorization");
    authorizations.add(given == null ? "" : given);
    if (apiKey == null || ("Bearer " + apiKey).equals(given)) {
      return true;
    }
    ex.getRequestBody().readAllBytes();
    respond(ex, 401, "{\"error\":{\"message\":\"Incorrect API key provided: " + given + "\"}}");
    return false;
  }

  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void complete(HttpExchange ex, boolean chat) throws IOException {
    JsonNode body = JSON.readTree(ex.getRequestBody());
    bodies.add(body);
    paths.add(ex.getRequestURI().getPath());
    requestIds.add(ex.getRequestHeaders().getFirst("X-Request-Id"));
    String input = chat ? body.path("messages").path(body.path("messages").size() - 1).path("content").asText()
        : body.path("prompt").asText();
    switch (input) {
      case "fail-400" -> respond(ex, 400,
          "{\"error\":{\"message\":\"max_tokens is too large\",\"type\":\"invalid_request_error\"}}");
      case "fail-429" -> {
        ex.getResponseHeaders().set("Retry-After", "2");
        respond(ex, 429, "{\"error\":{\"message\":\"rate limited\"}}");
      }
      case "fail-500" -> respond(ex, 500, "{\"error\":{\"message\":\"CUDA out of memory\"}}");
      default -> stream(ex, chat, input, body.path("max_tokens").asInt(16));
    }
  }

  private void stream(HttpExchange ex, boolean chat, String input, int maxTokens) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "text/event-stream");
    ex.sendResponseHeaders(200, 0);
    try (OutputStream out = ex.getResponseBody()) {
      if (input.equals("slow")) {
        slowStreams.incrementAndGet();
        try {
          for (int i = 0; i < 500; i++) {
            event(out, chunk(chat, "tick ", null));
            Thread.sleep(20);
          }
        } catch (IOException e) {
          closedByClient.incrementAndGet();
          return;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        } finally {
          slowStreams.decrementAndGet();
        }
        event(out, chunk(chat, null, "stop"));
        event(out, "[DONE]");
        return;
      }
      if (input.equals("error-mid-stream")) {
        event(out, chunk(chat, "partial", null));
        event(out, "{\"error\":{\"message\":\"engine crashed\"}}");
        return;
      }
      out.write(": keep-alive comment\n\n".getBytes(StandardCharsets.UTF_8));
      for (String word : new String[] {"Hello", " from", " upstream"}) {
        event(out, chunk(chat, word, null));
      }
      event(out, chunk(chat, null, maxTokens == 3 ? "length" : "stop"));
      event(out, "{\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}");
      event(out, "[DONE]");
    }
  }

  private static String chunk(boolean chat, String text, String finish) {
    String t = text == null ? "null" : JSON.valueToTree(text).toString();
    String f = finish == null ? "null" : "\"" + finish + "\"";
    return chat
        ? "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":"
            + (text == null ? "{}" : "{\"content\":" + t + "}") + ",\"finish_reason\":" + f + "}]}"
        : "{\"id\":\"c\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":"
            + (text == null ? "\"\"" : t) + ",\"finish_reason\":" + f + "}]}";
  }

  private static void event(OutputStream out, String data) throws IOException {
    out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static void respond(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }
}
