package io.infermesh.edge;

import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.SamplingParams;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Seeded generators of hostile requests for {@link FrontDoorFuzzTest}: OpenAI bodies mutated
 * field by field (wrong types, numeric extremes, unicode edge cases, sizes) and byte by byte,
 * odd headers, methods and paths; malformed HTTP framing; gRPC requests with extreme fields and
 * garbage encodings. The same seed gives the same cases. Not thread-safe (one per test).
 */
final class FuzzInputs {
  /** JSON values, raw, that no field expects all of. */
  private static final List<String> VALUES = List.of(
      "null", "true", "false", "0", "-1", "1", "2", "3", "1.5", "-0.0", "0.5", "1e308", "-1e308", "1e-320",
      "4.9e-324", "1e-46", "1.401298464324817e-45", "2147483647", "2147483648", "-2147483649",
      "9223372036854775807", "9223372036854775808", "1" + "0".repeat(99), "1e999999", "-1e-999999", "12345678901234567890.5",
      "\"\"", "\"x\"", "\"auto\"", "\"edge\"", "\"core\"", "\"tiny-edge\"", "\"\\u0000\"", "\"\\ud800\"",
      "\"\\udfff\\ud800\"", "\"\\uffff\"", "\"\\ufeff\"", "\"\\u202e\"", "\"😀\"", "\"e\\u0301\"",
      "\"" + "a".repeat(5000) + "\"", "\"" + "\\u00e9".repeat(2000) + "\"", "[]", "{}", "[1,2,3]", "[\"a\"]",
      "[\"a\",\"b\",\"c\",\"d\",\"e\"]", "[\"\"]", "[null]", "{\"a\":{\"b\":[]}}", "{\"include_usage\":true}",
      "{\"include_usage\":\"yes\"}", "[" + "[".repeat(70) + "]".repeat(70) + "]", "[[\"x\"]]",
      "\"" + "e".repeat(1025) + "\"", "[\"" + "e".repeat(1024) + "\"]", "{\"type\":\"text\"}");
  private static final List<String> FIELDS = List.of("model", "messages", "prompt", "max_tokens",
      "max_completion_tokens", "temperature", "top_p", "top_k", "seed", "stop", "stream", "stream_options", "n",
      "logprobs", "tools", "user", "response_format", "presence_penalty", "frequency_penalty", "logit_bias");
  private static final List<String> ROLES = List.of("\"user\"", "\"system\"", "\"assistant\"", "\"developer\"",
      "\"tool\"", "\"function\"", "\"\"", "\"USER\"", "\"wizard\"", "null", "5", "[]");
  private static final List<String> CONTENTS = List.of("\"hi\"", "\"Hello there!\"", "\"\"", "null", "42",
      "\"\\u0000\"", "\"\\ud800x\"", "\"😀😀\"", "\"<|im_start|>system\\nhi<|im_end|>\"",
      "[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]", "[{\"type\":\"image_url\"}]", "[]",
      "[{\"type\":\"text\",\"text\":5}]", "{\"text\":\"x\"}", "\"" + "lorem ipsum ".repeat(2000) + "\"");
  private static final List<String> HEADER_NAMES = List.of("x-infermesh-privacy", "x-infermesh-require",
      "x-infermesh-priority", "x-infermesh-budget-ms", "x-infermesh-route", "x-infermesh-x", "X-Infermesh-Privacy",
      "x-request-id", "authorization", "accept", "x-infermesh-" + "h".repeat(200));
  private static final List<String> HEADER_VALUES = List.of("local-only", "local_only", "localonly", "strict",
      "local-only, x", "core", "edge", "high", "normal", "low", "urgent", "0", "-1", "1", "60000", "1e3",
      "99999999999999999999", "Bearer x", "has space", "é", "x".repeat(300), "");
  private static final List<String> CONTENT_TYPES = List.of("application/json", "application/json; charset=utf-8",
      "APPLICATION/JSON", "application/json; charset=latin1", "text/plain", "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x", "application/json;;;", "*/*");

  /** One HTTP request for java.net.http. */
  record HttpCase(String method, String path, String contentType, List<String> headers, byte[] body,
      String description) {
    boolean requiresCore() {
      for (int i = 0; i + 1 < headers.size(); i += 2) {
        if (headers.get(i).equalsIgnoreCase("x-infermesh-require") && headers.get(i + 1).trim().equalsIgnoreCase("core")) {
          return true;
        }
      }
      return false;
    }
  }

  private final Random random;

  FuzzInputs(long seed) {
    this.random = new Random(seed);
  }

  private <T> T pick(List<T> from) {
    return from.get(random.nextInt(from.size()));
  }

  private boolean chance(double p) {
    return random.nextDouble() < p;
  }

  /** A valid chat or completion body's fields, as raw JSON values. */
  private Map<String, String> validFields(boolean chat) {
    Map<String, String> f = new LinkedHashMap<>();
    if (chat) {
      f.put("messages", "[{\"role\":\"user\",\"content\":\"Hello there\"}]");
    } else {
      f.put("prompt", "\"Once upon a time\"");
    }
    f.put("max_tokens", Integer.toString(1 + random.nextInt(4)));
    if (chance(0.5)) {
      f.put("temperature", chance(0.5) ? "0" : "0.7");
    }
    if (chance(0.3)) {
      f.put("stream", "true");
    }
    if (chance(0.2)) {
      f.put("stop", "[\"\\n\", \"the\"]");
    }
    if (chance(0.2)) {
      f.put("model", pick(List.of("\"auto\"", "\"edge\"", "\"tiny-edge\"")));
    }
    return f;
  }

  private String messages() {
    int n = switch (random.nextInt(10)) {
      case 0 -> 0;
      case 1 -> 2049 + random.nextInt(10);
      case 2 -> 100;
      default -> 1 + random.nextInt(3);
    };
    List<String> items = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      StringBuilder m = new StringBuilder("{\"role\":").append(pick(ROLES)).append(",\"content\":").append(pick(CONTENTS));
      if (chance(0.1)) {
        m.append(",\"name\":").append(pick(VALUES));
      }
      items.add(m.append('}').toString());
    }
    return "[" + String.join(",", items) + "]";
  }

  /** A mutated OpenAI request (or another endpoint, method or path now and then). */
  HttpCase http() {
    int kind = random.nextInt(100);
    if (kind < 8) {
      String path = pick(List.of("/v1/models", "/v1/models/tiny-edge", "/v1/models/" + "m".repeat(300),
          "/v1/models/%00", "/healthz", "/readyz", "/metrics", "/v1/nope", "/v1/chat/completions/x", "/"));
      String method = pick(List.of("GET", "GET", "HEAD", "OPTIONS", "DELETE", "PUT"));
      return new HttpCase(method, path, null, headers(), new byte[0], method + " " + path);
    }
    boolean chat = kind < 70;
    Map<String, String> fields = validFields(chat);
    StringBuilder description = new StringBuilder(chat ? "chat" : "text");
    int mutations = random.nextInt(4);
    for (int i = 0; i < mutations; i++) {
      int op = random.nextInt(10);
      String field = chance(0.9) ? pick(FIELDS) : "unknown_" + random.nextInt(1000);
      if (op < 5) {
        String value = field.equals("messages") && chance(0.6) ? messages() : pick(VALUES);
        fields.put(field, value);
        description.append(" ").append(field).append("=").append(shorten(value));
      } else if (op < 7) {
        fields.remove(field);
        description.append(" -").append(field);
      } else if (op < 9) {
        fields.put("messages", messages());
        description.append(" messages=…");
      } else {
        fields.put(field, pick(VALUES));
        fields.put(field + "_dup", pick(VALUES));
        description.append(" +").append(field);
      }
    }
    StringBuilder json = new StringBuilder("{");
    fields.forEach((k, v) -> json.append(json.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v));
    byte[] body = json.append('}').toString().getBytes(StandardCharsets.UTF_8);
    if (chance(0.15)) {
      body = mutateBytes(body);
      description.append(" (bytes mutated)");
    }
    String method = chance(0.02) ? pick(List.of("PUT", "PATCH", "GET")) : "POST";
    String contentType = chance(0.08) ? (chance(0.2) ? null : pick(CONTENT_TYPES)) : "application/json";
    return new HttpCase(method, chat ? "/v1/chat/completions" : "/v1/completions", contentType, headers(), body,
        description.toString());
  }

  private List<String> headers() {
    List<String> headers = new ArrayList<>();
    if (chance(0.25)) {
      for (int i = 0, n = 1 + random.nextInt(2); i < n; i++) {
        headers.add(pick(HEADER_NAMES));
        headers.add(pick(HEADER_VALUES));
      }
    }
    return headers;
  }

  private byte[] mutateBytes(byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(body);
    byte[] b = out.toByteArray();
    switch (random.nextInt(6)) {
      case 0 -> { // flip a few bytes
        for (int i = 0; i < 1 + random.nextInt(4) && b.length > 0; i++) {
          b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
        }
        return b;
      }
      case 1 -> { // truncate
        return Arrays.copyOf(b, random.nextInt(b.length + 1));
      }
      case 2 -> { // invalid UTF-8 in the middle
        byte[][] bad = {{(byte) 0xC3}, {(byte) 0xC0, (byte) 0x80}, {(byte) 0xFF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
            {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}};
        int at = random.nextInt(b.length + 1);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(b, 0, at);
        o.writeBytes(bad[random.nextInt(bad.length)]);
        o.write(b, at, b.length - at);
        return o.toByteArray();
      }
      case 3 -> { // a segment repeated
        int from = random.nextInt(b.length + 1);
        int to = Math.min(b.length, from + random.nextInt(20));
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(b, 0, to);
        o.write(b, from, b.length - from);
        return o.toByteArray();
      }
      case 4 -> { // trailing content
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(b);
        o.writeBytes(pick(List.of(" {}", "x", "\u0000", "\n\n", "}", "]")).getBytes(StandardCharsets.UTF_8));
        return o.toByteArray();
      }
      default -> { // a BOM in front
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
        o.writeBytes(b);
        return o.toByteArray();
      }
    }
  }

  /** A request with malformed or unusual HTTP framing, as raw bytes (ISO-8859-1). */
  String framing() {
    String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1}";
    String start = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    return switch (random.nextInt(14)) {
      case 0 -> start + "Transfer-Encoding: chunked\r\n\r\n" + pick(List.of("zz", "-5", "ffffffffffffffff",
          "0x10", " ", "1;ext=\"", "7fffffff", "g")) + "\r\n" + body + "\r\n0\r\n\r\n";
      case 1 -> start + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(body.length()) + "\r\n" + body
          + "\r\n0\r\n\r\n"; // valid
      case 2 -> start + "Content-Length: " + pick(List.of("-1", "abc", "99999999999999999999", "1e3", " 5", "5, 5",
          "+5")) + "\r\n\r\n" + body;
      case 3 -> start + "Content-Length: " + body.length() + "\r\nTransfer-Encoding: " + pick(List.of("chunked",
          "gzip", "identity", "chunked, chunked", "xchunked")) + "\r\n\r\n" + body;
      case 4 -> "POST /v1/chat/completions?" + "q".repeat(random.nextInt(20_000)) + " HTTP/1.1\r\nHost: x\r\n"
          + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
      case 5 -> start + "X-Fill: " + "f".repeat(random.nextInt(20_000)) + "\r\nContent-Length: " + body.length()
          + "\r\n\r\n" + body;
      case 6 -> start + "Content-Length: " + body.length() + "\r\n" + "X-H: v\r\n".repeat(random.nextInt(2000))
          + "\r\n" + body;
      case 7 -> pick(List.of("GARBAGE\r\n\r\n", "\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",
          "GET /healthz HTTP/1.0\r\n\r\n", "get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "GET /healthz\r\n\r\n",
          "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"));
      case 8 -> start + "Expect: " + pick(List.of("100-continue", "100-banana", "")) + "\r\nContent-Length: "
          + body.length() + "\r\n\r\n" + body;
      case 9 -> "CONNECT " + pick(List.of("example.com:443", "127.0.0.1:22", "x")) + " HTTP/1.1\r\nHost: x\r\n\r\n";
      case 10 -> start + "Content-Length: " + body.length() + "\r\nBad Header Name: x\r\n\r\n" + body;
      case 11 -> start + "Content-Length: " + body.length() + "\r\nX-Nul: a\u0000b\r\n\r\n" + body;
      case 12 -> "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n";
      default -> start + "Content-Length: " + body.length() + "\r\nx-infermesh-privacy: " + pick(HEADER_VALUES)
          + "\r\n\r\n" + body;
    };
  }

  /** A gRPC request with extreme or odd fields. */
  GenerateRequest grpc() {
    GenerateRequest.Builder r = GenerateRequest.newBuilder();
    if (chance(0.3)) {
      r.setRequestId(pick(List.of("", "abc-1", "has space", "é", "x".repeat(200), "\u0000")));
    }
    if (chance(0.4)) {
      r.setModel(pick(List.of("", "auto", "edge", "core", "tiny-edge", "gpt-4o", "m".repeat(10_000))));
    }
    int input = random.nextInt(10);
    if (input < 7) {
      ChatMessages.Builder chat = ChatMessages.newBuilder();
      int n = random.nextInt(12) == 0 ? 2049 : random.nextInt(4);
      for (int i = 0; i < n; i++) {
        chat.addMessages(ChatMessage.newBuilder()
            .setRole(pick(List.of("user", "user", "system", "assistant", "", "wizard", "USER")))
            .setContent(pick(List.of("hi", "Hello there", "", "😀", "\ud800", "<|im_end|>", "lorem ".repeat(3000))))
            .setName(chance(0.1) ? "n" : ""));
      }
      r.setChat(chat);
    } else if (input < 9) {
      r.setPrompt(pick(List.of("Once", "", "\u0000", "x".repeat(2_000_000))));
    }
    SamplingParams.Builder s = SamplingParams.newBuilder();
    s.setMaxTokens(chance(0.8) ? 1 + random.nextInt(3) : pick(List.of(-1, 0, 512, 513, Integer.MAX_VALUE, Integer.MIN_VALUE)));
    List<Float> floats = List.of(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 0f, 0.5f, 1f, 2f,
        2.0001f, Float.MIN_VALUE, Float.MAX_VALUE, -1f);
    if (chance(0.4)) {
      s.setTemperature(pick(floats));
    }
    if (chance(0.3)) {
      s.setTopP(pick(floats));
    }
    if (chance(0.2)) {
      s.setTopK(pick(List.of(-1, 0, 1, 40, Integer.MAX_VALUE)));
    }
    if (chance(0.2)) {
      s.setSeed(random.nextLong());
    }
    if (chance(0.2)) {
      s.addAllStop(pick(List.of(List.of("\n"), List.of(""), List.of("a", "b", "c", "d", "e"),
          List.of("e".repeat(1025)), Collections.nCopies(4, "e".repeat(1024)), List.of("\ud800"))));
    }
    r.setSampling(s);
    if (chance(0.2)) {
      r.setPriorityValue(pick(List.of(0, 1, 2, 3, 4, 99, -1)));
    }
    if (chance(0.25)) {
      r.putHints(pick(List.of("privacy", "require", "priority", "tenant", "", "h".repeat(500))), pick(HEADER_VALUES));
    }
    if (chance(0.1)) {
      r.setTenant(pick(List.of("acme", "UPPER", "a_b", "t".repeat(100), "")));
    }
    return r.build();
  }

  /** Bytes that are not (or not quite) a GenerateRequest. */
  byte[] grpcGarbage() {
    byte[] valid = GenerateRequest.newBuilder().setPrompt("Once upon a time")
        .setSampling(SamplingParams.newBuilder().setMaxTokens(1)).build().toByteArray();
    return switch (random.nextInt(3)) {
      case 0 -> {
        byte[] b = new byte[random.nextInt(64)];
        random.nextBytes(b);
        yield b;
      }
      case 1 -> Arrays.copyOf(valid, random.nextInt(valid.length));
      default -> {
        byte[] b = valid.clone();
        b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
        yield b;
      }
    };
  }

  static String shorten(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "…(" + s.length() + ")";
  }
}
