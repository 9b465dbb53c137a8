package io.infermesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The requests {@code infermesh up --demo} sends, one per route rule, and the table it prints.
 * Each row is a chat request to the edge's OpenAI API; the route and reason come from the
 * response headers.
 */
final class MeshDemo {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One demo request: what is sent, the route headers it is sent with, and the route it should take. */
  record Case(String label, String model, String prompt, int maxTokens, Map<String, String> headers,
      String expectedRoute) {}

  /** One result row. */
  record Row(String prompt, int status, String route, String reason, long millis, String expectedRoute) {
    /** Answered 200 on the route its rule names. */
    boolean ok() {
      return status == 200 && route.equals(expectedRoute);
    }
  }

  static List<Case> cases() {
    return List.of(
        new Case("chit-chat", "auto", "Hello! How are you today?", 16, Map.of(), "edge"),
        new Case("hard prompt", "auto",
            "Explain step by step why this code is slow and prove the bound: ```for (i = 0; i < n; i++) {}```", 16,
            Map.of(), "core"),
        new Case("model: core", "core", "Tell me a short story.", 16, Map.of(), "core"),
        new Case("model: edge", "edge", "Explain step by step how to solve 3x + 7 = 22.", 16, Map.of(), "edge"),
        new Case("privacy: local-only", "auto",
            "Explain step by step why my medical record shows 120 / 80 = 1.5.", 16,
            Map.of("x-infermesh-privacy", "local-only"), "edge"),
        new Case("require: core", "auto", "Hi there.", 16, Map.of("x-infermesh-require", "core"), "core"),
        new Case("beyond edge context", "auto", "Summarize: " + "the quick brown fox jumps over the lazy dog. "
            .repeat(25), 64, Map.of(), "core"));
  }

  /** Sends every case to {@code baseUrl} (e.g. {@code http://127.0.0.1:8080}) and returns the rows. */
  static List<Row> run(String baseUrl) throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    List<Row> rows = new ArrayList<>();
    for (Case c : cases()) {
      ObjectNode body = JSON.createObjectNode();
      body.put("model", c.model());
      body.put("max_tokens", c.maxTokens());
      body.put("temperature", 0);
      body.putArray("messages").addObject().put("role", "user").put("content", c.prompt());
      HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(baseUrl + "/v1/chat/completions"))
          .timeout(Duration.ofMinutes(2))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
      c.headers().forEach(req::header);
      long t0 = System.nanoTime();
      HttpResponse<String> resp = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
      long ms = (System.nanoTime() - t0) / 1_000_000;
      rows.add(new Row(c.label() + ": " + c.prompt(), resp.statusCode(),
          resp.headers().firstValue("x-infermesh-route").orElse("-"),
          resp.headers().firstValue("x-infermesh-reason").orElse("-"), ms, c.expectedRoute()));
    }
    return rows;
  }

  static void print(List<Row> rows, PrintWriter out) {
    out.printf("%-58s %-6s %-14s %-36s %8s%n", "prompt", "status", "route", "reason", "latency");
    for (Row r : rows) {
      String p = r.prompt().length() > 56 ? r.prompt().substring(0, 55) + "…" : r.prompt();
      out.printf("%-58s %-6d %-14s %-36s %6d ms%s%n", p, r.status(), r.route(), r.reason(), r.millis(),
          r.ok() ? "" : "   UNEXPECTED: wanted 200 on route " + r.expectedRoute());
    }
    out.flush();
  }

  private MeshDemo() {}
}
