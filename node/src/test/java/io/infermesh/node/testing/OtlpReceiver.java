package io.infermesh.node.testing;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OTLP/HTTP traces receiver for tests: a real HTTP server on a loopback port ({@code POST
 * /v1/traces}, {@code application/x-protobuf}) that decodes each {@code
 * ExportTraceServiceRequest} the way a collector does and keeps the spans. The protobuf is decoded
 * by the field numbers of opentelemetry-proto's {@code trace.proto}, {@code common.proto} and
 * {@code resource.proto} (the published Java classes are generated for protobuf 4 and do not load
 * on the 3.25 runtime the mesh uses). Answers an empty {@code ExportTraceServiceResponse} (full
 * success). Thread-safe.
 */
public final class OtlpReceiver implements AutoCloseable {
  /** OTLP {@code Span.SpanKind} numbers. */
  public static final int KIND_INTERNAL = 1;
  public static final int KIND_SERVER = 2;
  public static final int KIND_CLIENT = 3;

  /**
   * One received span.
   *
   * @param service its resource's {@code service.name}
   * @param traceId 32 hex digits
   * @param spanId 16 hex digits
   * @param parentSpanId 16 hex digits, or empty for a root span
   * @param kind the OTLP kind number ({@link #KIND_SERVER}, ...)
   * @param attributes string, boolean, integer and double values; arrays as lists
   * @param events the events' names, in order
   */
  public record Span(String service, String traceId, String spanId, String parentSpanId, String name, int kind,
      Map<String, Object> attributes, List<String> events) {

    public Object attribute(String key) {
      return attributes.get(key);
    }
  }

  private final HttpServer server;
  private final List<Span> spans = new CopyOnWriteArrayList<>();
  private final AtomicInteger exports = new AtomicInteger();

  private OtlpReceiver(HttpServer server) {
    this.server = server;
  }

  /** Starts listening on a free loopback port. */
  public static OtlpReceiver start() throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    OtlpReceiver receiver = new OtlpReceiver(server);
    server.createContext("/v1/traces", receiver::handle);
    server.start();
    return receiver;
  }

  /** The URL to configure as {@code telemetry.otlp.endpoint}. */
  public URI tracesEndpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1/traces");
  }

  /** Every span received so far, in arrival order. */
  public List<Span> spans() {
    return List.copyOf(spans);
  }

  /** The spans of trace {@code traceId}. */
  public List<Span> trace(String traceId) {
    return spans.stream().filter(s -> s.traceId().equals(traceId)).toList();
  }

  /** The first span named {@code name}, if any. */
  public Optional<Span> named(String name) {
    return spans.stream().filter(s -> s.name().equals(name)).findFirst();
  }

  /** Export requests received so far. */
  public int exports() {
    return exports.get();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (!"POST".equals(exchange.getRequestMethod())
          || !String.valueOf(exchange.getRequestHeaders().getFirst("Content-Type")).startsWith("application/x-protobuf")) {
        exchange.sendResponseHeaders(415, -1);
        return;
      }
      byte[] body;
      try (InputStream in = exchange.getRequestBody()) {
        body = in.readAllBytes();
      }
      try {
        decodeRequest(body);
      } catch (InvalidProtocolBufferException e) {
        exchange.sendResponseHeaders(400, -1);
        return;
      }
      exports.incrementAndGet();
      exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, 0); // an empty ExportTraceServiceResponse: zero bytes
      try (OutputStream out = exchange.getResponseBody()) {
        out.flush();
      }
    }
  }

  // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  private void decodeRequest(byte[] body) throws InvalidProtocolBufferException {
    UnknownFieldSet request = UnknownFieldSet.parseFrom(body);
    for (ByteString resourceSpans : lengthDelimited(request, 1)) {
      // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
      UnknownFieldSet rs = UnknownFieldSet.parseFrom(resourceSpans);
      String service = "";
      for (ByteString resource : lengthDelimited(rs, 1)) {
        // Resource { repeated KeyValue attributes = 1; }
        Object name = attributes(UnknownFieldSet.parseFrom(resource), 1).get("service.name");
        service = name == null ? "" : name.toString();
      }
      for (ByteString scopeSpans : lengthDelimited(rs, 2)) {
        // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
        for (ByteString span : lengthDelimited(UnknownFieldSet.parseFrom(scopeSpans), 2)) {
          spans.add(decodeSpan(service, UnknownFieldSet.parseFrom(span)));
        }
      }
    }
  }

  // Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5;
  //        SpanKind kind = 6; fixed64 start = 7; fixed64 end = 8; repeated KeyValue attributes = 9;
  //        repeated Event events = 11; }
  private static Span decodeSpan(String service, UnknownFieldSet span) throws InvalidProtocolBufferException {
    HexFormat hex = HexFormat.of();
    List<String> events = new ArrayList<>();
    for (ByteString event : lengthDelimited(span, 11)) {
      // Event { fixed64 time_unix_nano = 1; string name = 2; ... }
      events.add(string(UnknownFieldSet.parseFrom(event), 2));
    }
    long kind = span.hasField(6) && !span.getField(6).getVarintList().isEmpty() ? span.getField(6).getVarintList().get(0)
        : 0;
    return new Span(service, hex.formatHex(bytes(span, 1)), hex.formatHex(bytes(span, 2)),
        hex.formatHex(bytes(span, 4)), string(span, 5), (int) kind, attributes(span, 9), events);
  }

  // KeyValue { string key = 1; AnyValue value = 2; }
  private static Map<String, Object> attributes(UnknownFieldSet message, int field)
      throws InvalidProtocolBufferException {
    Map<String, Object> out = new LinkedHashMap<>();
    for (ByteString kv : lengthDelimited(message, field)) {
      UnknownFieldSet pair = UnknownFieldSet.parseFrom(kv);
      List<ByteString> value = lengthDelimited(pair, 2);
      out.put(string(pair, 1), value.isEmpty() ? null : anyValue(UnknownFieldSet.parseFrom(value.get(0))));
    }
    return out;
  }

  // AnyValue { oneof { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
  //                    ArrayValue array_value = 5; ... } }   ArrayValue { repeated AnyValue values = 1; }
  private static Object anyValue(UnknownFieldSet value) throws InvalidProtocolBufferException {
    if (value.hasField(1)) {
      return string(value, 1);
    }
    if (value.hasField(2)) {
      return value.getField(2).getVarintList().get(0) != 0;
    }
    if (value.hasField(3)) {
      return value.getField(3).getVarintList().get(0);
    }
    if (value.hasField(4)) {
      return Double.longBitsToDouble(value.getField(4).getFixed64List().get(0));
    }
    if (value.hasField(5)) {
      List<Object> items = new ArrayList<>();
      for (ByteString item : lengthDelimited(UnknownFieldSet.parseFrom(value.getField(5).getLengthDelimitedList().get(0)),
          1)) {
        items.add(anyValue(UnknownFieldSet.parseFrom(item)));
      }
      return items;
    }
    return null;
  }

  private static List<ByteString> lengthDelimited(UnknownFieldSet message, int field) {
    return message.hasField(field) ? message.getField(field).getLengthDelimitedList() : List.of();
  }

  private static byte[] bytes(UnknownFieldSet message, int field) {
    List<ByteString> values = lengthDelimited(message, field);
    return values.isEmpty() ? new byte[0] : values.get(0).toByteArray();
  }

  private static String string(UnknownFieldSet message, int field) {
    List<ByteString> values = lengthDelimited(message, field);
    return values.isEmpty() ? "" : values.get(0).toStringUtf8();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
