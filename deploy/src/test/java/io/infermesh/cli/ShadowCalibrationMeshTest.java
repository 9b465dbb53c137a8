package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.infermesh.edge.config.Calibration;
import io.infermesh.edge.config.Routing;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Shadow escalation through the whole mesh on loopback (tiny models, the real core over mTLS): every
 * local answer is shadowed to the core, which is made slow by holding each call until the test lets
 * it go. The clients get their answers while the core still holds the shadows (so the client's path
 * never waits for them), and once the core answers, each shadow becomes one learned example, visible
 * on {@code /v1/infermesh/calibration} and {@code /metrics}. A {@code privacy: local-only} request is
 * never shadowed.
 */
class ShadowCalibrationMeshTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final List<String> CORE_WIRE = new CopyOnWriteArrayList<>();
  private static final CountDownLatch RELEASE = new CountDownLatch(1);
  private static Path dir;
  private static MeshUp mesh;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("shadow-calibration");
    // initial threshold 1: nothing escalates for difficulty, so the core sees shadows only
    Calibration calibration = Calibration.builder().enabled(true).target("agreement=0.9").shadowFraction(1.0)
        .initialThreshold(1.0).stateFile(Optional.of(dir.resolve("calibration.bin"))).queue(16).build();
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(),
        Routing.builder().calibration(calibration).build(), Duration.ofSeconds(30))
        .withCoreInterceptor(new ServerInterceptor() {
          @Override
          public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
              ServerCallHandler<Q, A> next) {
            if (!call.getMethodDescriptor().getFullMethodName().endsWith("/Generate")) {
              return next.startCall(call, headers); // ListModels and the like pass untouched
            }
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
              @Override
              public void onMessage(Q message) {
                CORE_WIRE.add(String.valueOf(message));
                try {
                  RELEASE.await(60, TimeUnit.SECONDS); // the slow core
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                super.onMessage(message);
              }
            };
          }
        }));
  }

  @AfterAll
  static void stop() {
    RELEASE.countDown();
    if (mesh != null) {
      mesh.close();
    }
  }

  private static HttpResponse<String> chat(String content, boolean localOnly) throws Exception {
    String body = JSON.createObjectNode().put("max_tokens", 6).put("temperature", 0)
        .set("messages", JSON.createArrayNode().add(JSON.createObjectNode().put("role", "user")
            .put("content", content))).toString();
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(mesh.edgeUrl() + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (localOnly) {
      r.header("x-infermesh-privacy", "local-only");
    }
    return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode calibration() throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(mesh.edgeUrl()
        + "/v1/infermesh/calibration")).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  @Test
  void localAnswers_slowCore_clientsDoNotWaitAndEachShadowBecomesAnExample() throws Exception {
    HttpResponse<String> secret = chat("my private diary entry", true);
    assertThat(secret.statusCode()).as(secret.body()).isEqualTo(200);
    for (String prompt : List.of("hello there", "what a nice day", "tell me about cats")) {
      HttpResponse<String> r = chat(prompt, false);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-infermesh-route")).hasValue("edge");
    }
    // every client has its answer, and the core still holds the first shadow: nobody waited for it
    await().atMost(Duration.ofSeconds(30)).until(() -> CORE_WIRE.size() == 1);
    assertThat(RELEASE.getCount()).isEqualTo(1);
    JsonNode before = calibration();
    assertThat(before.get("comparisons").asLong()).isZero();
    assertThat(before.get("target").asText()).isEqualTo("agreement=0.9");

    RELEASE.countDown();
    await().atMost(Duration.ofSeconds(60)).until(() -> calibration().get("examples").asLong() == 3);
    JsonNode after = calibration();
    assertThat(after.get("comparisons").asLong()).isEqualTo(3);
    assertThat(after.get("agreement_rate").isNumber()).isTrue();
    // shadows only, at low priority, as the mesh's tenant, and never the local-only prompt
    assertThat(CORE_WIRE).hasSize(3).allSatisfy(m -> assertThat(m)
        .contains("infermesh-calibration").contains("PRIORITY_LOW").doesNotContain("diary"));
    String metrics = HTTP.send(HttpRequest.newBuilder(URI.create(mesh.edgeUrl() + "/metrics")).GET().build(),
        HttpResponse.BodyHandlers.ofString()).body();
    assertThat(metrics).contains("infermesh_calibration_examples 3.0")
        .contains("infermesh_calibration_shadow_total{result=\"queued\"} 3.0");
    assertThat(dir.resolve("calibration.bin")).isRegularFile();
  }
}
