package io.infermesh.edge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A small JSON/SSE client over {@code java.net.http} for tests against a running agent. Thread-safe. */
public final class HttpTestClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;

  public HttpTestClient(int port) {
    this.base = "http://127.0.0.1:" + port;
  }

  /** A response with its body parsed as JSON (or as SSE {@code data:} events). */
  public record Reply(int status, HttpResponse<String> raw) {
    public JsonNode json() {
      try {
        return JSON.readTree(raw.body());
      } catch (IOException e) {
        throw new UncheckedIOException("not JSON: " + raw.body(), e);
      }
    }

    public String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }

    /** The {@code data:} payloads of an event stream, in order ({@code [DONE]} included). */
    public List<String> events() {
      List<String> events = new ArrayList<>();
      for (String block : raw.body().split("\n\n")) {
        if (block.startsWith("data: ")) {
          events.add(block.substring(6));
        } else if (!block.isBlank()) {
          throw new AssertionError("not an SSE event: " + block);
        }
      }
      return events;
    }

    /** The JSON events of an event stream ({@code [DONE]} left out). */
    public List<JsonNode> jsonEvents() {
      List<JsonNode> out = new ArrayList<>();
      for (String e : events()) {
        if (!e.equals("[DONE]")) {
          try {
            out.add(JSON.readTree(e));
          } catch (IOException ex) {
            throw new UncheckedIOException(ex);
          }
        }
      }
      return out;
    }
  }

  public Reply post(String path, String json, String... headers) {
    return postBytes(path, "application/json", json.getBytes(StandardCharsets.UTF_8), headers);
  }

  public Reply postBytes(String path, String contentType, byte[] body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return send(headers.length == 0 ? b : b.headers(headers));
  }

  public Reply get(String path, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).GET();
    return send(headers.length == 0 ? b : b.headers(headers));
  }

  private Reply send(HttpRequest.Builder request) {
    try {
      HttpResponse<String> r = client.send(request.timeout(Duration.ofSeconds(60)).build(),
          HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      return new Reply(r.statusCode(), r);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The client, for tests that stream by hand. */
  public HttpClient raw() {
    return client;
  }

  public URI uri(String path) {
    return URI.create(base + path);
  }
}
