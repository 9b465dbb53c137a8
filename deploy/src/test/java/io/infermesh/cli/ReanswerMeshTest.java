package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.Role;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.server.CoreNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.EdgeConfigLoader;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Deferred re-answers across a real core (DJL, mTLS gRPC) and real edge agents (llama.cpp, HTTP),
 * configured from edge.yaml text: the core stops, a degraded answer gets an id, the edge restarts on
 * the same queue, the core comes back, and the core's answer arrives — once, at the endpoint and at a
 * real webhook receiver with a verified HMAC — equal to what the core answers that request directly.
 */
class ReanswerMeshTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final String ACME = "sk-acme-reanswer-0001";
  private static final String GLOBEX = "sk-globex-reanswer-0001";
  private static final String SECRET = "whsec-0123456789abcdef";
  private static final Duration PATIENCE = Duration.ofSeconds(90);
  /** Replays that reached the core (its Generate requests sent with the re-answer's reason). */
  private static final AtomicInteger REPLAYS_AT_CORE = new AtomicInteger();
  /** Webhook deliveries the receiver accepted: signature header and body. */
  private static final Queue<String[]> ACCEPTED = new ConcurrentLinkedQueue<>();
  private static final AtomicInteger WEBHOOK_CALLS = new AtomicInteger();

  private static Path dir;
  private static Path certs;
  private static Path coreModel;
  private static Path edgeModel;
  private static HttpServer webhook;
  private static CoreNode core;
  private static int corePort;
  private EdgeAgent edge;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("reanswer-mesh");
    certs = dir.resolve("certs");
    CertificateAuthority ca = CertificateAuthority.create("infermesh.local", Duration.ofDays(2), Clock.systemUTC());
    for (Role role : List.of(Role.CORE, Role.EDGE)) {
      ca.issue(LeafRequest.builder(role, "local", role == Role.CORE ? "core-0" : "edge-0").dnsName("localhost")
          .ipAddress("127.0.0.1").validity(Duration.ofDays(1)).build()).writeTo(certs, true);
    }
    coreModel = TinyModels.write(TinyModelSpec.core(GgmlType.F32), dir.resolve("models"));
    edgeModel = TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), dir.resolve("models"));
    webhook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    webhook.createContext("/hook", exchange -> {
      byte[] body;
      try (InputStream in = exchange.getRequestBody()) {
        body = in.readAllBytes();
      }
      // the first delivery is refused, so the edge must try again
      int status = WEBHOOK_CALLS.incrementAndGet() == 1 ? 503 : 200;
      if (status == 200) {
        ACCEPTED.add(new String[] {exchange.getRequestHeaders().getFirst("X-Infermesh-Signature"),
            new String(body, StandardCharsets.UTF_8)});
      }
      exchange.sendResponseHeaders(status, -1);
      exchange.close();
    });
    webhook.start();
    startCore(0);
  }

  private static void startCore(int port) throws IOException {
    ServerInterceptor countReplays = new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
          ServerCallHandler<Q, A> next) {
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
          @Override
          public void onMessage(Q message) {
            if (message instanceof GenerateRequest r && r.getEscalation().getReason().equals("reanswer-deferred")) {
              REPLAYS_AT_CORE.incrementAndGet();
            }
            super.onMessage(message);
          }
        };
      }
    };
    CoreConfig config = CoreConfig.builder(new CoreConfig.Node("core-0", "local"), new CoreConfig.Tls(certs, "core-0"))
        .grpcPort(port)
        .model(CoreConfig.Model.builder("tiny-core").path(coreModel).device("cpu").defaultMaxTokens(16).build())
        .metricsPort(-1)
        .listen(CoreConfig.Listen.loopback())
        .build();
    CoreNode started = CoreNode.start(config, List.of(countReplays));
    try {
      started.loadConfiguredModel();
    } catch (IOException | RuntimeException e) {
      started.close();
      throw e;
    }
    core = started;
    corePort = started.port();
  }

  @AfterEach
  void stopEdge() {
    if (edge != null) {
      edge.close();
      edge = null;
    }
  }

  @AfterAll
  static void stop() {
    if (core != null) {
      core.close();
    }
    if (webhook != null) {
      webhook.stop(0);
    }
  }

  /** An edge from edge.yaml text: two tenants, the core at {@code coreTarget}, re-answers in {@code queue}. */
  private static EdgeAgent startEdge(String coreTarget, Path queue, int maxEntries) throws Exception {
    String yaml = """
        model: {path: %s, context_size: 512, threads: 1, default_max_tokens: 16}
        http: {port: 0}
        cache: {enabled: false}
        auth:
          tenants:
            - {name: acme, keys: [%s]}
            - {name: globex, keys: [%s]}
        escalation:
          target: "%s"
          tls: {dir: %s, name: edge-0}
          timeout: 20s
          circuit: {open_for: 1s}
        reanswer:
          enabled: true
          data_dir: %s
          max_entries: %d
          ttl: 1h
          webhook: {url: "http://127.0.0.1:%d/hook", secret: "%s", backoff: 200ms}
        """.formatted(edgeModel, ACME, GLOBEX, coreTarget, certs, queue, maxEntries, webhook.getAddress().getPort(),
        SECRET);
    EdgeAgent agent = EdgeAgent.builder(EdgeConfigLoader.parse(yaml, dir)).start();
    agent.awaitModel(Duration.ofMinutes(1));
    return agent;
  }

  private static String body(boolean stream) {
    return JSON.createObjectNode().put("model", "core").put("max_tokens", 8).put("temperature", 0)
        .put("stream", stream)
        .set("messages", JSON.createArrayNode().add(JSON.createObjectNode().put("role", "user")
            .put("content", "Tell me about the sea and its tides"))).toString();
  }

  private static HttpResponse<String> post(EdgeAgent agent, String key, String body, String... headers)
      throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort()
        + "/v1/chat/completions")).header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      r.headers(headers);
    }
    return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> answer(EdgeAgent agent, String key, String id) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort()
        + "/v1/infermesh/answers/" + id)).GET();
    if (key != null) {
      r.header("Authorization", "Bearer " + key);
    }
    return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String content(String completion) throws IOException {
    return JSON.readTree(completion).at("/choices/0/message/content").asText();
  }

  private static String hmac(String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void deferred_coreDownThenBackAcrossAnEdgeRestart_reanswerArrivesOnceAndEqualsTheCoresOwnAnswer() throws Exception {
    Path queue = dir.resolve("queue");
    edge = startEdge("127.0.0.1:" + corePort, queue, 100);
    HttpResponse<String> direct = post(edge, ACME, body(false));
    assertThat(direct.statusCode()).as(direct.body()).isEqualTo(200);
    assertThat(direct.headers().firstValue("x-infermesh-route")).hasValue("core");
    assertThat(direct.headers().firstValue("x-infermesh-reanswer")).as("nothing to re-answer").isEmpty();
    String coresOwn = content(direct.body());

    core.close();
    HttpResponse<String> degraded = post(edge, ACME, body(false), "x-infermesh-reanswer", "deferred");

    assertThat(degraded.statusCode()).as(degraded.body()).isEqualTo(200);
    assertThat(degraded.headers().firstValue("x-infermesh-route")).hasValue("edge-degraded");
    assertThat(degraded.headers().firstValue("x-infermesh-reanswer")).hasValue("deferred");
    String id = degraded.headers().firstValue("x-infermesh-reanswer-id").orElseThrow();
    assertThat(id).matches("ra_[0-9a-f]{32}");
    assertThat(JSON.readTree(degraded.body()).at("/infermesh/reanswer/id").asText()).isEqualTo(id);
    assertThat(answer(edge, ACME, id).statusCode()).isEqualTo(202);
    assertThat(answer(edge, GLOBEX, id).statusCode()).as("another tenant's id").isEqualTo(404);
    assertThat(answer(edge, null, id).statusCode()).isEqualTo(401);

    // a new edge on the same queue still holds it; then the core comes back on its port
    edge.close();
    edge = startEdge("127.0.0.1:" + corePort, queue, 100);
    assertThat(answer(edge, ACME, id).statusCode()).isEqualTo(202);
    startCore(corePort);

    await("the re-answer").atMost(PATIENCE).pollInterval(Duration.ofMillis(200))
        .until(() -> answer(edge, ACME, id).statusCode() == 200);
    String reanswer = answer(edge, ACME, id).body();
    JsonNode doc = JSON.readTree(reanswer);
    assertThat(content(reanswer)).isEqualTo(coresOwn);
    assertThat(doc.at("/object").asText()).isEqualTo("chat.completion");
    assertThat(doc.at("/infermesh/route").asText()).isEqualTo("core");
    assertThat(doc.at("/infermesh/served_by/tier").asText()).isEqualTo("core");
    assertThat(doc.at("/infermesh/reanswer_id").asText()).isEqualTo(id);
    assertThat(answer(edge, GLOBEX, id).statusCode()).isEqualTo(404);
    await("the webhook").atMost(PATIENCE).until(() -> !ACCEPTED.isEmpty());
    String[] delivered = ACCEPTED.peek();
    assertThat(delivered[0]).isEqualTo(hmac(delivered[1]));
    assertThat(delivered[1]).isEqualTo(reanswer);
    assertThat(WEBHOOK_CALLS).as("refused once, then accepted").hasValue(2);
    assertThat(answer(edge, ACME, id).body()).as("stored once, read the same").isEqualTo(reanswer);
    assertThat(REPLAYS_AT_CORE.get()).isPositive();
    assertThat(ACCEPTED).hasSize(1);
  }

  @Test
  void deferred_fullQueue_refusesTheNewKeepsTheOld_andAStreamTellsItsIdInTheLastChunk() throws Exception {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    edge = startEdge("127.0.0.1:" + deadPort, dir.resolve("full-queue"), 1);

    HttpResponse<String> first = post(edge, ACME, body(true), "x-infermesh-reanswer", "deferred");
    HttpResponse<String> second = post(edge, ACME, body(false), "x-infermesh-reanswer", "deferred");

    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    String last = first.body().lines().filter(l -> l.startsWith("data: {")).reduce((a, b) -> b).orElseThrow();
    JsonNode told = JSON.readTree(last.substring("data: ".length())).at("/infermesh/reanswer");
    assertThat(told.get("status").asText()).isEqualTo("deferred");
    String id = told.get("id").asText();
    assertThat(second.statusCode()).as("the degraded answer stands").isEqualTo(200);
    assertThat(second.headers().firstValue("x-infermesh-route")).hasValue("edge-degraded");
    assertThat(second.headers().firstValue("x-infermesh-reanswer")).hasValue("refused");
    assertThat(second.headers().firstValue("x-infermesh-reanswer-reason")).hasValue("queue-full");
    assertThat(JSON.readTree(second.body()).at("/infermesh/reanswer/reason").asText()).isEqualTo("queue-full");
    assertThat(answer(edge, ACME, id).statusCode()).as("the old one is kept").isEqualTo(202);
    assertThat(edge.registry().scrape()).contains("infermesh_edge_reanswer_deferrals_total{outcome=\"queue-full\"} 1.0")
        .contains("infermesh_edge_reanswer_pending 1.0");
  }
}
