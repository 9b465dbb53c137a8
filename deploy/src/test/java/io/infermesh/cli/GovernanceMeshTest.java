package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.node.audit.AuditVerifier;
import io.infermesh.node.config.ConfigException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 through {@code infermesh up}: the whole mesh (edge, control plane off, core; tiny
 * models) started with {@code --edge-config deploy/governance.edge.yaml}, the documented example:
 * API keys, masking on the way to a real core, block and local_only, and the audit log.
 */
class GovernanceMeshTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final String KEY = "sk-acme-change-me-0001";
  /** Every request message that reached the real core's Inference service, as protobuf text. */
  private static final Queue<String> CORE_WIRE = new ConcurrentLinkedQueue<>();
  private static Path dir;
  private static MeshUp mesh;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("governance-mesh");
    // a copy, so the example's relative audit directory lands in the test's directory
    Path governance = Files.copy(Path.of("governance.edge.yaml"), dir.resolve("governance.edge.yaml"));
    Path coreGovernance = Files.copy(Path.of("governance.core.yaml"), dir.resolve("governance.core.yaml"));
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(), d.routing(),
        Duration.ofSeconds(30)).withEdgeConfig(governance).withCoreConfig(coreGovernance).withCoreInterceptor(new ServerInterceptor() {
          @Override
          public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
              ServerCallHandler<Q, A> next) {
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
              @Override
              public void onMessage(Q message) {
                CORE_WIRE.add(String.valueOf(message));
                super.onMessage(message);
              }
            };
          }
        }));
  }

  @AfterAll
  static void stop() {
    if (mesh != null) {
      mesh.close();
    }
  }

  private static HttpResponse<String> chat(String model, String content, String key) throws Exception {
    String body = JSON.createObjectNode().put("model", model).put("max_tokens", 4).put("temperature", 0)
        .set("messages", JSON.createArrayNode().add(JSON.createObjectNode().put("role", "user")
            .put("content", content))).toString();
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(mesh.edgeUrl() + "/v1/chat/completions"))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      r.header("Authorization", "Bearer " + key);
    }
    return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void post_emailToTheCoreWithTheExampleKey_reachesTheRealCoreMaskedAndIsAuditedAsMasked() throws Exception {
    HttpResponse<String> r = chat("core", "Forward this to carol@example.net please", KEY);

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-infermesh-route")).hasValue("core");
    // the real core received the placeholder, never the address
    assertThat(CORE_WIRE).anySatisfy(m -> assertThat(m).contains("Forward this to <EMAIL_1> please"));
    assertThat(String.join("\n", CORE_WIRE)).doesNotContain("carol").doesNotContain("example.net");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(auditLines("audit")).anySatisfy(line -> {
      JsonNode record = JSON.readTree(line);
      assertThat(record.get("route").asText()).isEqualTo("core");
      assertThat(record.get("caller").asText()).isEqualTo("api-key:acme#0");
      assertThat(record.get("masking").get("EMAIL").asInt()).isEqualTo(1);
      assertThat(record.get("quota").asText()).isEqualTo("ok");
      assertThat(record.get("completion_tokens").asInt()).isPositive();
    }));
    assertThat(String.join("\n", auditLines("audit"))).doesNotContain("carol").doesNotContain(KEY);
  }

  @Test
  void post_withoutKey_is401() throws Exception {
    assertThat(chat("auto", "hello", null).statusCode()).isEqualTo(401);
  }

  @Test
  void post_cardNumber_is400NamingTheDetector() throws Exception {
    HttpResponse<String> r = chat("core", "charge 4111 1111 1111 1111", KEY);

    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(r.body()).at("/error/message").asText()).contains("CREDIT_CARD").doesNotContain("4111");
    assertThat(String.join("\n", CORE_WIRE)).doesNotContain("4111");
  }

  @Test
  void post_localOnlyCodename_staysOnTheEdge() throws Exception {
    HttpResponse<String> r = chat("auto", "Prove the theorem about zephyr integrals step by step", KEY);

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-infermesh-route")).hasValue("edge");
    assertThat(r.headers().firstValue("x-infermesh-reason")).hasValue("policy-local-only");
    assertThat(chat("core", "zephyr", KEY).statusCode()).isEqualTo(400);
    assertThat(String.join("\n", CORE_WIRE)).doesNotContain("zephyr");
  }

  @Test
  void audit_afterRequests_chainVerifies() throws Exception {
    chat("auto", "hello there", KEY);

    await().atMost(Duration.ofSeconds(10)).until(() -> !auditLines("audit").isEmpty());
    try (Stream<Path> files = Files.list(dir.resolve("audit"))) {
      assertThat(AuditVerifier.verify(files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()))
          .isInstanceOf(AuditVerifier.Intact.class);
    }
  }

  @Test
  void core_withTheExampleCoreConfig_servesTheEdgesTenantAndAuditsItsOwnCalls() throws Exception {
    HttpResponse<String> r = chat("core", "Mail dave@example.org the summary", KEY);

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(auditLines("audit-core"))
        .anySatisfy(line -> {
      JsonNode record = JSON.readTree(line);
      assertThat(record.get("tenant").asText()).isEqualTo("acme"); // the edge vouched for it
      assertThat(record.get("caller").asText()).endsWith("/edge/" + MeshUp.EDGE_NAME);
      assertThat(record.get("quota").asText()).isEqualTo("ok");
      assertThat(record.get("status").asText()).isEqualTo("OK");
    }));
    assertThat(String.join("\n", auditLines("audit-core"))).doesNotContain("dave").doesNotContain("example.org");
    try (Stream<Path> files = Files.list(dir.resolve("audit-core"))) {
      assertThat(AuditVerifier.verify(files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()))
          .isInstanceOf(AuditVerifier.Intact.class);
    }
  }

  @Test
  void governedCore_otherSections_areRefusedNamingWhatUpTakes() throws Exception {
    Path file = Files.writeString(dir.resolve("too-much-core.yaml"), "grpc: {port: 1}\naudit: {enabled: false}\n");

    assertThatThrownBy(() -> MeshUp.governedCore(file))
        .isInstanceOf(ConfigException.class).hasMessageContaining("[tenants, audit, telemetry]").hasMessageContaining("grpc");
  }

  @Test
  void governed_otherSections_areRefusedNamingWhatUpTakes() throws Exception {
    Path file = Files.writeString(dir.resolve("too-much.yaml"), "cache: {enabled: false}\n");

    assertThatThrownBy(() -> MeshUp.governed(EdgeConfig.defaults(), file))
        .isInstanceOf(ConfigException.class).hasMessageContaining("[auth, privacy, audit, telemetry]");
  }

  private static List<String> auditLines(String directory) throws Exception {
    List<String> lines = new ArrayList<>();
    Path audit = dir.resolve(directory);
    if (!Files.isDirectory(audit)) {
      return lines;
    }
    try (Stream<Path> files = Files.list(audit)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()) {
        lines.addAll(Files.readAllLines(f));
      }
    }
    return lines;
  }
}
