package io.infermesh.edge.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.serve.EdgeException;
import io.javalin.http.Context;
import java.time.Duration;

/**
 * The one place where failures become HTTP responses: status, {@code Retry-After}, and OpenAI's
 * error JSON {@code {"error":{"message","type","param","code"}}}. Stateless; thread-safe.
 */
final class HttpErrors {
  private static final ObjectMapper JSON = new ObjectMapper();

  private HttpErrors() {}

  /** The HTTP status of {@code kind}. */
  static int status(EdgeException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT -> 400;
      case UNAUTHENTICATED -> 401;
      case NOT_FOUND -> 404;
      case RATE_LIMITED, QUEUE_FULL -> 429;
      case UNAVAILABLE -> 503;
      case DEADLINE_EXCEEDED -> 504;
      case CANCELLED -> 408;
      case INTERNAL -> 500;
    };
  }

  /** OpenAI's error {@code type} for {@code e}. */
  static String type(EdgeException e) {
    return switch (e.kind()) {
      case INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED -> "invalid_request_error";
      case RATE_LIMITED -> e.code().orElse("requests");
      case QUEUE_FULL -> "server_overloaded";
      case DEADLINE_EXCEEDED -> "timeout";
      case CANCELLED -> "cancelled";
      case UNAVAILABLE, INTERNAL -> "server_error";
    };
  }

  /** OpenAI's error {@code code} for {@code e}. */
  static String code(EdgeException e) {
    if (e.kind() == EdgeException.Kind.RATE_LIMITED) {
      return "rate_limit_exceeded";
    }
    return e.code().orElse(null);
  }

  /** The error object (without the {@code data: } framing) for {@code e}. */
  static ObjectNode body(EdgeException e) {
    return body(e.getMessage(), type(e), e.param().orElse(null), code(e));
  }

  static ObjectNode body(String message, String type, String param, String code) {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode error = root.putObject("error");
    error.put("message", message);
    error.put("type", type);
    error.put("param", param);
    error.put("code", code);
    return root;
  }

  /** Writes {@code e} as the whole response. */
  static void write(Context ctx, EdgeException e) {
    e.retryAfter().ifPresent(d -> ctx.header("Retry-After", Long.toString(retryAfterSeconds(d))));
    if (e.kind() == EdgeException.Kind.UNAUTHENTICATED) {
      ctx.header("WWW-Authenticate", "Bearer");
    }
    write(ctx, status(e.kind()), body(e));
  }

  /** Writes an HTTP-only problem as the whole response. */
  static void write(Context ctx, HttpProblem p) {
    String type = p.status() < 500 ? "invalid_request_error" : "server_error";
    write(ctx, p.status(), body(p.getMessage(), type, p.param(), null));
  }

  static void write(Context ctx, int status, ObjectNode body) {
    ctx.status(status);
    ctx.contentType("application/json");
    ctx.result(utf8(body));
  }

  /** {@code body} as UTF-8 JSON, written as bytes directly (no String in between, as {@code toString()} makes). */
  static byte[] utf8(JsonNode body) {
    try {
      return JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree could not be written", e); // a tree always can
    }
  }

  /** Whole seconds, rounded up and at least 1: the {@code Retry-After} header's unit. */
  static long retryAfterSeconds(Duration d) {
    return Math.max(1, (d.toMillis() + 999) / 1000);
  }
}
