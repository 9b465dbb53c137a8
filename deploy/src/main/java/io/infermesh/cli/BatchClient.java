package io.infermesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;

/**
 * The few calls of OpenAI's Files and Batch APIs the {@code batch} command makes, over the JDK's
 * HTTP client: upload (multipart), create, retrieve, content. A non-2xx answer is an {@link
 * IOException} carrying the server's error message. Thread-safe.
 */
final class BatchClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofMinutes(5);

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final String base;
  private final String apiKey;

  BatchClient(String base, String apiKey) {
    this.base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    this.apiKey = apiKey;
  }

  /** {@code POST /files} with {@code purpose=batch}; the file's id. */
  String upload(Path file) throws IOException, InterruptedException {
    byte[] random = new byte[12];
    new SecureRandom().nextBytes(random);
    String boundary = "infermesh-" + HexFormat.of().formatHex(random);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--"
        + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + file.getFileName()
        .toString().replace("\"", "") + "\"\r\nContent-Type: application/jsonl\r\n\r\n").getBytes(StandardCharsets.UTF_8));
    body.writeBytes(Files.readAllBytes(file));
    body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    return send(request("/files").header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()))).get("id").asText();
  }

  /** {@code POST /batches}; the batch object. */
  JsonNode create(String fileId, String endpoint) throws IOException, InterruptedException {
    ObjectNode create = JSON.createObjectNode().put("input_file_id", fileId).put("endpoint", endpoint)
        .put("completion_window", "24h");
    return send(request("/batches").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(create.toString())));
  }

  /** {@code GET /batches/{id}}. */
  JsonNode retrieve(String id) throws IOException, InterruptedException {
    return send(request("/batches/" + id).GET());
  }

  /** {@code GET /files/{id}/content}, to be read and closed by the caller. */
  InputStream content(String fileId) throws IOException, InterruptedException {
    HttpResponse<InputStream> r = http.send(request("/files/" + fileId + "/content").GET().build(),
        HttpResponse.BodyHandlers.ofInputStream());
    if (r.statusCode() != 200) {
      try (InputStream in = r.body()) {
        throw failure(r.statusCode(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    }
    return r.body();
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT);
    if (!apiKey.isEmpty()) {
      b.header("Authorization", "Bearer " + apiKey);
    }
    return b;
  }

  private JsonNode send(HttpRequest.Builder request) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) {
      throw failure(r.statusCode(), r.body());
    }
    return JSON.readTree(r.body());
  }

  private static IOException failure(int status, String body) {
    String message = body;
    try {
      JsonNode error = JSON.readTree(body).path("error").path("message");
      if (error.isTextual()) {
        message = error.asText();
      }
    } catch (IOException notJson) {
      // keep the body as it came
    }
    return new IOException("HTTP " + status + ": " + message);
  }
}
