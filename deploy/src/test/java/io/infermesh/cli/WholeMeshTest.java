package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The whole mesh on loopback, as {@code infermesh up} runs it: a real core node (DJL, mTLS gRPC)
 * and a real edge agent (llama.cpp, HTTP) with certificates from one CA, tiny models.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WholeMeshTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final int RESTART_REQUESTS = Integer.getInteger("infermesh.mesh.requests", 500);
  private static Path dir;
  private static MeshUp mesh;
  private static String base;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("whole-mesh");
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(), d.routing(),
        Duration.ofSeconds(30)));
    base = "http://127.0.0.1:" + mesh.edge().httpPort();
  }

  @AfterAll
  static void stop() {
    if (mesh != null) {
      mesh.close();
    }
  }

  static Stream<Arguments> rules() {
    Map<String, String[]> expected = Map.of(
        "chit-chat", new String[] {"edge", "difficulty-low"},
        "hard prompt", new String[] {"core", "difficulty-high"},
        "model: core", new String[] {"core", "alias-core"},
        "model: edge", new String[] {"edge", "alias-edge"},
        "privacy: local-only", new String[] {"edge", "privacy-local-only"},
        "require: core", new String[] {"core", "require-core"},
        "beyond edge context", new String[] {"core", "exceeds-edge-context"});
    return MeshDemo.cases().stream().map(c -> Arguments.of(c.label(), c, expected.get(c.label())));
  }

  @Order(1)
  @ParameterizedTest(name = "{0}")
  @MethodSource("rules")
  void chat_eachRule_routesAsSpecified(String label, MeshDemo.Case c, String[] expected) throws Exception {
    HttpResponse<String> resp = chat(c.model(), c.prompt(), c.maxTokens(), false, c.headers());
    assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
    assertThat(resp.headers().firstValue("x-infermesh-route")).hasValue(expected[0]);
    assertThat(resp.headers().firstValue("x-infermesh-reason")).hasValue(expected[1]);
    JsonNode body = JSON.readTree(resp.body());
    assertThat(body.at("/choices/0/finish_reason").asText()).isIn("stop", "length");
    assertThat(body.at("/model").asText()).as("the model that answered")
        .isEqualTo(expected[0].equals("core") ? "tiny-core" : "tiny-edge-q8_0");
  }

  @Order(2)
  @Test
  void stream_edgeToCore_matchesTheCoresDirectAnswerTokenForToken() throws Exception {
    String prompt = "Once upon a time in a small village";
    HttpResponse<String> resp = chat("core", prompt, 24, true, Map.of());
    assertThat(resp.statusCode()).isEqualTo(200);
    assertThat(resp.headers().firstValue("x-infermesh-route")).hasValue("core");
    List<String> viaEdge = new ArrayList<>();
    for (String line : resp.body().split("\n")) {
      if (line.startsWith("data: {")) {
        JsonNode delta = JSON.readTree(line.substring(6)).at("/choices/0/delta/content");
        if (delta.isTextual() && !delta.asText().isEmpty()) {
          viaEdge.add(delta.asText());
        }
      }
    }
    List<String> direct = new ArrayList<>();
    try (Client client = new Client(Role.EDGE, "edge-direct", mesh.ca())) {
      GenerateRequest req = GenerateRequest.newBuilder().setModel("auto")
          .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent(prompt)))
          .setSampling(SamplingParams.newBuilder().setMaxTokens(24).setTemperature(0f).setTopP(1f)).build();
      InferenceGrpc.newBlockingStub(client.channel).withDeadlineAfter(30, TimeUnit.SECONDS).generate(req)
          .forEachRemaining((GenerateChunk c) -> {
            if (!c.getText().isEmpty()) {
              direct.add(c.getText());
            }
          });
    }
    assertThat(direct).isNotEmpty();
    assertThat(viaEdge).containsExactlyElementsOf(direct);
  }

  @Order(3)
  @Test
  void generate_edgeCertificateFromAnotherCa_isRefused() throws Exception {
    CertificateAuthority other = CertificateAuthority.create(MeshUp.TRUST_DOMAIN, Duration.ofDays(7),
        Clock.systemUTC());
    try (Client client = new Client(Role.EDGE, "edge-rogue", other)) {
      GenerateRequest req = GenerateRequest.newBuilder().setPrompt("hi")
          .setSampling(SamplingParams.newBuilder().setMaxTokens(2)).build();
      assertThatThrownBy(() -> InferenceGrpc.newBlockingStub(client.channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .generate(req).forEachRemaining(c -> {}))
          .isInstanceOf(StatusRuntimeException.class)
          .satisfies(e -> assertThat(((StatusRuntimeException) e).getStatus().getCode().name())
              .isIn("UNAVAILABLE", "UNAUTHENTICATED", "PERMISSION_DENIED"));
    }
  }

  @Order(3)
  @Test
  void shard_gatewayCertificate_isRefused() throws Exception {
    try (Client client = new Client(Role.GATEWAY, "gateway-0", mesh.ca())) {
      CompletableFuture<Throwable> ended = new CompletableFuture<>();
      var requests = io.infermesh.api.v1.ShardGrpc.newStub(client.channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .forward(new io.grpc.stub.StreamObserver<io.infermesh.api.v1.StageReply>() {
            @Override
            public void onNext(io.infermesh.api.v1.StageReply reply) {
              ended.completeExceptionally(new AssertionError("a gateway got a Shard reply"));
            }

            @Override
            public void onError(Throwable t) {
              ended.complete(t);
            }

            @Override
            public void onCompleted() {
              ended.completeExceptionally(new AssertionError("a gateway's Shard call completed"));
            }
          });
      requests.onNext(io.infermesh.api.v1.StageRequest.getDefaultInstance());
      Throwable t = ended.get(15, TimeUnit.SECONDS);
      assertThat(io.grpc.Status.fromThrowable(t).getCode().name()).isIn("PERMISSION_DENIED", "UNIMPLEMENTED");
    }
  }

  @Order(3)
  @Test
  void chat_clientGivesUpAndRetriesWithTheSameRequestId_everyRetrySucceedsOnTheCore() throws Exception {
    for (int attempt = 0; attempt < 3; attempt++) {
      String id = "retry-" + attempt;
      // the first try: a long streamed answer from the core, abandoned once it is under way
      HttpResponse<InputStream> first = HTTP.send(request("core", "Tell me a very long story", 400, true,
          Map.of("x-request-id", id)), HttpResponse.BodyHandlers.ofInputStream());
      assertThat(first.statusCode()).isEqualTo(200);
      BufferedReader lines = new BufferedReader(
          new InputStreamReader(first.body(), StandardCharsets.UTF_8));
      String line;
      do {
        line = lines.readLine();
      } while (line != null && !line.startsWith("data: {"));
      assertThat(line).as("the first try streams from the core").isNotNull();
      // the retry, with the same id, while the first try is still in flight; then the client gives up
      CompletableFuture<HttpResponse<String>> retry = HTTP.sendAsync(
          request("core", "Tell me a very long story", 8, false, Map.of("x-request-id", id)),
          HttpResponse.BodyHandlers.ofString());
      first.body().close();
      HttpResponse<String> answer = retry.get(60, TimeUnit.SECONDS);
      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
      assertThat(answer.headers().firstValue("x-infermesh-route")).hasValue("core");
      assertThat(answer.headers().firstValue("x-request-id")).hasValue(id);
      JsonNode body = JSON.readTree(answer.body());
      assertThat(body.at("/usage/completion_tokens").asInt()).isBetween(1, 8);
      assertThat(body.at("/choices/0/finish_reason").asText()).isIn("stop", "length");
      // and a retry after the first try is gone
      HttpResponse<String> again = chat("core", "Tell me a very long story", 8, false, Map.of("x-request-id", id));
      assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
      assertThat(again.headers().firstValue("x-infermesh-route")).hasValue("core");
    }
  }

  @Order(4)
  @Test
  void chat_coreStoppedAndRestartedTwice_everyRequestGetsACompleteAnswer() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<HttpResponse<String>>> results = new ArrayList<>();
    try {
      for (int i = 0; i < RESTART_REQUESTS; i++) {
        String prompt = "Request " + i + ": tell me about the sea";
        boolean stream = i % 2 == 0;
        results.add(pool.submit(() -> chat("core", prompt, 12, stream, Map.of())));
      }
      for (int restart = 0; restart < 2; restart++) {
        waitUntilDone(results, (restart * 2 + 1) * RESTART_REQUESTS / 5);
        mesh.stopCore();
        waitUntilDone(results, (restart * 2 + 2) * RESTART_REQUESTS / 5);
        mesh.startCore();
      }
      Map<String, Integer> routes = new TreeMap<>();
      for (Future<HttpResponse<String>> f : results) {
        HttpResponse<String> r = f.get(90, TimeUnit.SECONDS);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String route = r.headers().firstValue("x-infermesh-route").orElseThrow();
        assertThat(r.body()).contains("finish_reason");
        if (r.body().startsWith("data:") || r.body().contains("\ndata:")) {
          assertThat(r.body()).contains("data: [DONE]").doesNotContain("\"error\"");
          int degradedNote = r.body().indexOf(": x-infermesh-route=");
          if (degradedNote >= 0) {
            route = "edge-degraded (mid-stream)";
          }
        }
        routes.merge(route, 1, Integer::sum);
      }
      System.out.println("routes under restarts: " + routes);
      assertThat(routes.keySet()).anyMatch(k -> k.startsWith("edge-degraded"));
      assertThat(routes).containsKey("core");
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(30, TimeUnit.SECONDS);
      if (mesh.core() == null) {
        mesh.startCore();
      }
    }
  }

  private static void waitUntilDone(List<? extends Future<?>> results, int count) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5))
        .until(() -> results.stream().filter(Future::isDone).count() >= count);
  }

  static HttpResponse<String> chat(String model, String prompt, int maxTokens, boolean stream,
      Map<String, String> headers) throws Exception {
    return HTTP.send(request(model, prompt, maxTokens, stream, headers), HttpResponse.BodyHandlers.ofString());
  }

  static HttpRequest request(String model, String prompt, int maxTokens, boolean stream,
      Map<String, String> headers) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    body.put("max_tokens", maxTokens);
    body.put("temperature", 0);
    body.put("stream", stream);
    body.putArray("messages").addObject().put("role", "user").put("content", prompt);
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
    headers.forEach(req::header);
    return req.build();
  }

  /** An mTLS client of the core with a fresh certificate from {@code ca}. */
  private static final class Client implements AutoCloseable {
    final MeshTls tls;
    final ManagedChannel channel;

    Client(Role role, String name, CertificateAuthority ca) throws Exception {
      MeshCredentialFiles files = ca.issue(LeafRequest.builder(role, MeshUp.REGION, name).dnsName("localhost")
          .ipAddress("127.0.0.1").validity(Duration.ofDays(1)).build()).writeTo(dir.resolve(name), true);
      tls = MeshTls.builder(files).build();
      channel = MeshChannels.newChannel("127.0.0.1:" + mesh.corePort(), tls, ExpectedIdentity.roles(Role.CORE));
    }

    @Override
    public void close() throws Exception {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      tls.close();
    }
  }
}
