package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.infermesh.node.testing.OtlpReceiver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 15's traces and version pin through a real edge agent and a real core node (mTLS gRPC on
 * loopback, tiny models), both exporting OTLP/HTTP protobuf to an in-process receiver: one trace per
 * request across the tiers, correctly parented, a caller's {@code traceparent} honoured; and {@code
 * x-infermesh-model-version} honoured by the edge, forwarded to the core as metadata, refused by the
 * core for a version it does not serve.
 */
class TracingMeshTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Metadata.Key<String> PIN = Metadata.Key.of("x-infermesh-model-version",
      Metadata.ASCII_STRING_MARSHALLER);
  /** The pin metadata of every call that reached the core's Inference service ("" for none). */
  private static final ConcurrentLinkedQueue<String> coreSawPins = new ConcurrentLinkedQueue<>();
  private static OtlpReceiver receiver;
  private static MeshUp mesh;

  @BeforeAll
  static void start() throws Exception {
    receiver = OtlpReceiver.start();
    Path dir = Files.createTempDirectory("tracing-mesh");
    String telemetry = """
        telemetry:
          otlp:
            endpoint: %s
            export_interval: 100ms
        """.formatted(receiver.tracesEndpoint());
    Path edge = Files.writeString(dir.resolve("edge.yaml"), telemetry);
    Path core = Files.writeString(dir.resolve("core.yaml"), telemetry);
    ServerInterceptor pins = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        if (call.getMethodDescriptor().getBareMethodName().equals("Generate")) {
          coreSawPins.add(String.valueOf(headers.get(PIN) == null ? "" : headers.get(PIN)));
        }
        return next.startCall(call, headers);
      }
    };
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(), d.routing(),
        Duration.ofSeconds(30)).withEdgeConfig(edge).withCoreConfig(core).withCoreInterceptor(pins));
  }

  @AfterAll
  static void stop() {
    if (mesh != null) {
      mesh.close();
    }
    if (receiver != null) {
      receiver.close();
    }
  }

  private static HttpResponse<String> chat(String model, Map<String, String> headers) throws Exception {
    String body = JSON.createObjectNode().put("model", model).put("max_tokens", 4).put("temperature", 0.0)
        .set("messages", JSON.createArrayNode().add(JSON.createObjectNode().put("role", "user")
            .put("content", "Tell me about foxes"))).toString();
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(mesh.edgeUrl() + "/v1/chat/completions"))
        .header("Content-Type", "application/json").timeout(WAIT);
    headers.forEach(request::header);
    return HTTP.send(request.POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String hex(int bytes) {
    byte[] b = new byte[bytes];
    ThreadLocalRandom.current().nextBytes(b);
    b[0] |= 1; // never all zeros (invalid)
    return HexFormat.of().formatHex(b);
  }

  private static OtlpReceiver.Span only(List<OtlpReceiver.Span> spans, String name) {
    List<OtlpReceiver.Span> named = spans.stream().filter(s -> s.name().equals(name)).toList();
    assertThat(named).as("spans named %s in %s", name, spans.stream().map(OtlpReceiver.Span::name).toList())
        .hasSize(1);
    return named.get(0);
  }

  @Test
  void escalatedRequest_withTraceparent_isOneTraceAcrossEdgeAndCoreCorrectlyParented() throws Exception {
    String traceId = hex(16);
    String callerSpan = hex(8);

    HttpResponse<String> r = chat("core", Map.of("traceparent", "00-" + traceId + "-" + callerSpan + "-01"));

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-infermesh-route")).contains("core");
    String reason = r.headers().firstValue("x-infermesh-reason").orElseThrow();
    List<String> expected = List.of("POST /v1/chat/completions", "infermesh.edge.auth", "infermesh.edge.route",
        "infermesh.edge.escalate", "infermesh.v1.Inference/Generate", "infermesh.core.queue", "infermesh.core.prefill",
        "infermesh.core.decode");
    await().atMost(WAIT).until(() -> receiver.trace(traceId).stream().map(OtlpReceiver.Span::name).toList()
        .containsAll(expected));
    List<OtlpReceiver.Span> trace = receiver.trace(traceId);

    OtlpReceiver.Span http = only(trace, "POST /v1/chat/completions");
    assertThat(http.service()).isEqualTo("infermesh-edge");
    assertThat(http.kind()).isEqualTo(OtlpReceiver.KIND_SERVER);
    assertThat(http.parentSpanId()).isEqualTo(callerSpan); // the caller's traceparent honoured
    assertThat(http.attribute("http.response.status_code")).isEqualTo(200L);
    assertThat(only(trace, "infermesh.edge.auth").parentSpanId()).isEqualTo(http.spanId());
    OtlpReceiver.Span route = only(trace, "infermesh.edge.route");
    assertThat(route.parentSpanId()).isEqualTo(http.spanId());
    assertThat(route.attribute("infermesh.route")).isEqualTo("core");
    assertThat(route.attribute("infermesh.route.reason")).isEqualTo(reason);
    assertThat(route.attribute("gen_ai.request.model")).isEqualTo("core");
    OtlpReceiver.Span escalate = only(trace, "infermesh.edge.escalate");
    assertThat(escalate.kind()).isEqualTo(OtlpReceiver.KIND_CLIENT);
    assertThat(escalate.parentSpanId()).isEqualTo(http.spanId());

    OtlpReceiver.Span core = only(trace, "infermesh.v1.Inference/Generate");
    assertThat(core.service()).isEqualTo("infermesh-core");
    assertThat(core.kind()).isEqualTo(OtlpReceiver.KIND_SERVER);
    assertThat(core.parentSpanId()).isEqualTo(escalate.spanId()); // the edge's client span is the core's parent
    for (String phase : List.of("infermesh.core.queue", "infermesh.core.prefill", "infermesh.core.decode")) {
      OtlpReceiver.Span s = only(trace, phase);
      assertThat(s.parentSpanId()).as(phase).isEqualTo(core.spanId());
      assertThat(s.service()).isEqualTo("infermesh-core");
    }
    OtlpReceiver.Span decode = only(trace, "infermesh.core.decode");
    assertThat((Long) decode.attribute("gen_ai.usage.output_tokens")).isBetween(1L, 4L);
    assertThat((Long) decode.attribute("gen_ai.usage.input_tokens")).isPositive();
    assertThat(trace).extracting(OtlpReceiver.Span::traceId).containsOnly(traceId);
  }

  @Test
  void localRequest_withoutTraceparent_isANewTraceWithAdmissionAndTheGenerationsFirstToken() throws Exception {
    HttpResponse<String> r = chat("edge", Map.of());

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String requestId = r.headers().firstValue("x-request-id").orElseThrow();
    await().atMost(WAIT).until(() -> receiver.spans().stream().anyMatch(s -> requestId.equals(
        s.attribute("infermesh.request.id"))));
    String traceId = receiver.spans().stream().filter(s -> requestId.equals(s.attribute("infermesh.request.id")))
        .findFirst().orElseThrow().traceId();
    String edgeModel = mesh.edge().service().model().orElseThrow().name();
    await().atMost(WAIT).until(() -> receiver.trace(traceId).stream().map(OtlpReceiver.Span::name).toList()
        .containsAll(List.of("POST /v1/chat/completions", "infermesh.edge.admission", "chat " + edgeModel)));
    List<OtlpReceiver.Span> trace = receiver.trace(traceId);

    OtlpReceiver.Span http = only(trace, "POST /v1/chat/completions");
    assertThat(http.parentSpanId()).isEmpty(); // a root: no caller trace
    OtlpReceiver.Span generation = only(trace, "chat " + edgeModel);
    assertThat(generation.parentSpanId()).isEqualTo(http.spanId());
    assertThat(generation.events()).containsExactly("gen_ai.first_token");
    assertThat(generation.attribute("gen_ai.operation.name")).isEqualTo("chat");
    assertThat(generation.attribute("gen_ai.request.model")).isEqualTo("edge");
    assertThat(generation.attribute("gen_ai.usage.output_tokens")).isNotNull();
    assertThat(only(trace, "infermesh.edge.admission").parentSpanId()).isEqualTo(http.spanId());
    assertThat(trace).noneMatch(s -> s.service().equals("infermesh-core"));
  }

  @Test
  void pin_malformed_is400NamingTheHeader() throws Exception {
    HttpResponse<String> r = chat("auto", Map.of("x-infermesh-model-version", "v1; drop"));

    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("x-infermesh-model-version");
  }

  @Test
  void pin_theEdgesVersion_isAnsweredByTheEdge() throws Exception {
    String version = mesh.edge().service().model().orElseThrow().version();

    HttpResponse<String> r = chat("auto", Map.of("x-infermesh-model-version", version));

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-infermesh-route")).contains("edge");
  }

  @Test
  void pin_theCoresVersion_isForwardedAsMetadataAndServedByTheCore() throws Exception {
    String version = mesh.core().host().current().orElseThrow().version();
    coreSawPins.clear();

    HttpResponse<String> r = chat("auto", Map.of("x-infermesh-model-version", version));

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-infermesh-route")).contains("core");
    assertThat(coreSawPins).containsExactly(version);
  }

  @Test
  void pin_aVersionNobodyServes_isNeverAnsweredByTheEdgeAndTheCoreRefusesIt() throws Exception {
    HttpResponse<String> r = chat("auto", Map.of("x-infermesh-model-version", "v999"));

    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(r.body()).contains("x-infermesh-model-version").contains("this node serves version");
  }

  @Test
  void pin_anotherVersionForModelEdge_is400NamingTheHeader() throws Exception {
    HttpResponse<String> r = chat("edge", Map.of("x-infermesh-model-version", "v999"));

    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("x-infermesh-model-version").contains("must be answered on the edge");
  }
}
