package io.infermesh.edge.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.edge.serve.EdgeException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;

/**
 * The one table from an upstream server's failures to the edge's errors (and so to the client's
 * HTTP status and gRPC code):
 *
 * <table>
 *   <caption>upstream → edge</caption>
 *   <tr><td>400, 413, 422</td><td>400 with the upstream's message and {@code param}</td></tr>
 *   <tr><td>404</td><td>404 with the upstream's message (it does not serve {@code engine.upstream.model})</td></tr>
 *   <tr><td>429</td><td>429, the upstream's {@code Retry-After} (1 s without one)</td></tr>
 *   <tr><td>401, 403</td><td>503 naming {@code engine.upstream.api_key_env}, without the upstream's message (a server may echo the key)</td></tr>
 *   <tr><td>other statuses, refused or broken connection, timeout, an error event mid-stream</td><td>503 naming the upstream</td></tr>
 * </table>
 *
 * Messages name the upstream's URL, never its API key. Stateless.
 */
final class UpstreamErrors {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_MESSAGE = 500;

  private final URI base;
  private final boolean keyed;

  UpstreamErrors(URI base, boolean keyed) {
    this.base = base;
    this.keyed = keyed;
  }

  /** The error for a non-200 answer with {@code body}. */
  EdgeException status(int status, String body, Optional<String> retryAfter) {
    if (status == 401 || status == 403) {
      return EdgeException.unavailable("the local engine's upstream " + base + " answered " + status + ": "
          + (keyed ? "it refused the key in engine.upstream.api_key_env" : "it wants a key (engine.upstream.api_key_env)"));
    }
    JsonNode error = parsed(body).path("error");
    String message = clip(error.isTextual() ? error.asText() : error.path("message").asText(body));
    String said = "upstream " + base + " answered " + status + (message.isEmpty() ? "" : ": " + message);
    if (status == 400 || status == 413 || status == 422) {
      String param = error.path("param").isTextual() ? error.path("param").asText() : null;
      return EdgeException.invalid(param, said);
    }
    if (status == 404) {
      return EdgeException.notFound(said);
    }
    if (status == 429) {
      return EdgeException.rateLimited("upstream_busy", said, retryAfter.map(UpstreamErrors::seconds)
          .orElse(Duration.ofSeconds(1)));
    }
    return EdgeException.unavailable(said);
  }

  /** The error for a transport failure (refused, reset, timed out). */
  EdgeException transport(IOException c) {
    if (c instanceof SocketTimeoutException) {
      return EdgeException.unavailable("the local engine's upstream " + base + " did not answer in time");
    }
    if (c instanceof ConnectException) {
      return EdgeException.unavailable("the local engine's upstream " + base + " refused the connection; is it running?");
    }
    return EdgeException.unavailable("the local engine's upstream " + base + " failed: " + c);
  }

  /** An error event inside a 200 stream ({@code data: {"error": ...}}). */
  EdgeException midStream(JsonNode event) {
    JsonNode error = event.path("error");
    String message = clip(error.isTextual() ? error.asText() : error.path("message").asText(""));
    return EdgeException.unavailable("upstream " + base + " failed mid-answer" + (message.isEmpty() ? "" : ": " + message));
  }

  /** Anything else the stream broke on. */
  EdgeException broken(String what) {
    return EdgeException.unavailable("upstream " + base + " " + what);
  }

  private static JsonNode parsed(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException | RuntimeException e) {
      return JSON.missingNode();
    }
  }

  private static String clip(String m) {
    String s = m.strip();
    return s.length() > MAX_MESSAGE ? s.substring(0, MAX_MESSAGE) + "..." : s;
  }

  private static Duration seconds(String header) {
    try {
      return Duration.ofMillis(Math.max(0, (long) (Double.parseDouble(header.strip()) * 1000)));
    } catch (NumberFormatException e) {
      return Duration.ofSeconds(1); // an HTTP date: not worth parsing for a hint
    }
  }
}
