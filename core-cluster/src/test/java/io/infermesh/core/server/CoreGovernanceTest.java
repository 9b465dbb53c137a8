package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.EscalationContext;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.Audit;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.Tenants;
import io.infermesh.node.audit.AuditFsync;
import io.infermesh.node.audit.AuditVerifier;
import io.infermesh.node.grpc.MeshTrailers;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real core node over mTLS with {@code tenants.enforce} (only role edge vouches, so a gateway —
 * also allowed to call Inference — is the caller that may not) and the audit log on.
 */
class CoreGovernanceTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PROMPT = "Once upon a time"; // 16 UTF-8 bytes: bounded at 32 tokens
  private static final long PROMPT_BOUND = 32;

  private static TestMesh mesh;
  private static CoreNode node;
  private static Path auditDir;

  @BeforeAll
  static void start() throws Exception {
    mesh = new TestMesh("core-governance");
    auditDir = mesh.root().resolve("audit");
    CoreConfig tiny = mesh.tinyCore(CoreConfig.Scheduling.builder()
        .maxQueued(16).maxBatchSize(8).maxBatchTokens(512).prefillChunk(64).contextLength(512).build());
    CoreConfig config = CoreConfig.builder(tiny.node(), tiny.tls()).grpcPort(0).metricsPort(0)
        .model(tiny.model()).scheduler(tiny.scheduler())
        .tenants(Tenants.builder().enforce(true).vouchRoles(Set.of(Role.EDGE))
            .tenant("sequential", new Tenants.Limits(0, 0, 600, 0))
            .tenant("concurrent", new Tenants.Limits(0, 0, 300, 0))
            .build())
        .audit(Audit.builder().enabled(auditDir).fsync(AuditFsync.EVERY_RECORD, Duration.ofSeconds(1)).build())
        .build();
    node = CoreNode.start(config);
    node.loadConfiguredModel();
  }

  @AfterAll
  static void stop() throws Exception {
    mesh.close();
    node.close();
  }

  private static InferenceGrpc.InferenceBlockingStub stub(Role role) throws Exception {
    return InferenceGrpc.newBlockingStub(mesh.channel(role, role.pathName() + "-" + System.nanoTime(), node.port()))
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static GenerateRequest request(String id, String tenant, int maxTokens) {
    return GenerateRequest.newBuilder().setRequestId(id).setTenant(tenant).setPrompt(PROMPT)
        .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(0f)).build();
  }

  private static GenerateChunk last(Iterator<GenerateChunk> chunks) {
    GenerateChunk last = null;
    while (chunks.hasNext()) {
      last = chunks.next();
    }
    return last;
  }

  private static long used(GenerateChunk last) {
    return last.getUsage().getPromptTokens() + last.getUsage().getCompletionTokens();
  }

  /** The audit record of {@code requestId}, once written. */
  private static JsonNode audited(String requestId) {
    return await().atMost(Duration.ofSeconds(10)).until(() -> records().stream()
        .filter(r -> r.path("request_id").asText().equals(requestId)).findFirst(), Optional::isPresent).orElseThrow();
  }

  private static List<JsonNode> records() throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (Path f : auditFiles()) {
      for (String line : Files.readAllLines(f)) {
        out.add(JSON.readTree(line));
      }
    }
    return out;
  }

  private static List<Path> auditFiles() throws IOException {
    try (Stream<Path> files = Files.list(auditDir)) {
      return files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList();
    }
  }

  /** The node's Prometheus scrape. */
  private static String metrics() throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + node.metricsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static StatusRuntimeException refused(ThrowingCallable call) {
    StatusRuntimeException[] caught = new StatusRuntimeException[1];
    assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> caught[0] = e);
    return caught[0];
  }

  @Test
  void generate_edgeNamingATenant_servedAndAudited() throws Exception {
    GenerateRequest r = request("served-1", "shop", 8).toBuilder()
        .setEscalation(EscalationContext.newBuilder().setReason("hard-prompt")).build();

    GenerateChunk last = last(stub(Role.EDGE).generate(r));

    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    JsonNode a = audited("served-1");
    assertThat(a.path("tenant").asText()).isEqualTo("shop");
    assertThat(a.path("caller").asText()).startsWith("spiffe://mesh.test/test-1/edge/");
    assertThat(a.path("route").asText()).isEqualTo("core");
    assertThat(a.path("reason").asText()).isEqualTo("hard-prompt");
    assertThat(a.path("model").asText()).isEqualTo("tiny-core");
    assertThat(a.path("prompt_tokens").asLong()).isEqualTo(last.getUsage().getPromptTokens());
    assertThat(a.path("completion_tokens").asLong()).isEqualTo(8);
    assertThat(a.path("quota").asText()).isEqualTo("ok");
    assertThat(a.path("status").asText()).isEqualTo("OK");
    assertThat(a.has("prompt")).as("no prompt text in the audit log").isFalse();
    assertThat(a.has("answer")).isFalse();
    assertThat(AuditVerifier.verify(auditFiles())).isInstanceOf(AuditVerifier.Intact.class);
  }

  @Test
  void generate_gatewayNamingATenant_permissionDeniedNamingTenantAndAudited() throws Exception {
    StatusRuntimeException e = refused(() -> last(stub(Role.GATEWAY).generate(request("denied-1", "shop", 8))));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(e.getStatus().getDescription()).startsWith("tenant: ");
    JsonNode a = audited("denied-1");
    assertThat(a.path("status").asText()).isEqualTo("PERMISSION_DENIED");
    assertThat(a.path("quota").asText()).isEqualTo("refused:tenant");
    assertThat(a.path("caller").asText()).startsWith("spiffe://mesh.test/test-1/gateway/");
    assertThat(a.path("completion_tokens").asLong()).isZero();
    assertThat(metrics()).contains("infermesh_core_tenant_refused_total{reason=\"not_vouched\"}");
    assertThat(last(stub(Role.GATEWAY).generate(request("default-1", "", 4))).getUsage().getCompletionTokens())
        .as("naming no tenant, the gateway is served as the default tenant").isEqualTo(4);
    assertThat(audited("default-1").path("tenant").asText()).isEqualTo("default");
  }

  @Test
  void embed_gatewayNamingATenant_permissionDenied_edgeServedAndAudited() throws Exception {
    EmbedRequest r = EmbedRequest.newBuilder().setRequestId("embed-1").setTenant("shop").addInput("hello").build();

    StatusRuntimeException e = refused(() -> stub(Role.GATEWAY).embed(r));
    long prompt = stub(Role.EDGE).embed(r.toBuilder().setRequestId("embed-2").build()).getUsage().getPromptTokens();

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(e.getStatus().getDescription()).contains("tenant");
    assertThat(audited("embed-2").path("prompt_tokens").asLong()).isEqualTo(prompt).isPositive();
    assertThat(audited("embed-2").path("status").asText()).isEqualTo("OK");
  }

  @Test
  void generate_settledUsage_letsTheNextInUntilTheQuotaIsSpent() throws Exception {
    // tokens_per_day 600: each call reserves 32 + 200, a third would not fit beside the first two's
    // worst cases (696 > 600); each settles its real usage, which lets the second and third in
    GenerateChunk first = last(stub(Role.EDGE).generate(request("seq-1", "sequential", 200)));
    GenerateChunk second = last(stub(Role.EDGE).generate(request("seq-2", "sequential", 200)));
    long used = used(first) + used(second);
    assertThat(used).as("settled real usage, not the worst cases").isLessThan(2 * (PROMPT_BOUND + 200));
    int tooMany = (int) (600 - used - PROMPT_BOUND + 1); // one token more than is left

    StatusRuntimeException e = refused(() -> last(stub(Role.EDGE).generate(request("seq-3", "sequential", tooMany))));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(e.getStatus().getDescription()).contains("tokens_per_day", used + " used");
    Metadata trailers = Status.trailersFromThrowable(e);
    assertThat(Long.parseLong(trailers.get(MeshTrailers.RETRY_AFTER_MS))).isPositive();
    assertThat(audited("seq-3").path("quota").asText()).isEqualTo("exceeded:tokens_per_day");
    assertThat(audited("seq-3").path("status").asText()).isEqualTo("RESOURCE_EXHAUSTED");
    assertThat(last(stub(Role.EDGE).generate(request("seq-4", "sequential", tooMany - 1))).getUsage()
        .getCompletionTokens()).as("exactly what is left still fits").isPositive();
  }

  @Test
  void generate_concurrentCallsOverTheQuota_reservationsCannotOverdraw() throws Exception {
    // tokens_per_day 300, each call reserves 32 + 200 = 232 and really uses more than 68 (greedy decoding
    // of this prompt runs the same ~150 tokens every time): only one fits, whether the calls overlap or
    // follow one another
    var async = InferenceGrpc.newStub(mesh.channel(Role.EDGE, "edge-concurrent", node.port()));
    List<CompletableFuture<Status>> outcomes = new ArrayList<>();
    List<Metadata> trailers = new ArrayList<>();
    List<GenerateChunk> lasts = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      CompletableFuture<Status> done = new CompletableFuture<>();
      outcomes.add(done);
      async.generate(request("conc-" + i, "concurrent", 200), TestMesh.observer(c -> {
        if (c.hasUsage()) {
          synchronized (lasts) {
            lasts.add(c);
          }
        }
      }, done, trailers));
    }
    List<Status> statuses = outcomes.stream().map(f -> f.orTimeout(60, TimeUnit.SECONDS).join()).toList();

    assertThat(statuses.stream().filter(Status::isOk)).hasSize(1);
    assertThat(statuses.stream().filter(s -> !s.isOk()))
        .allSatisfy(s -> assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED)).hasSize(5);
    synchronized (lasts) {
      assertThat(lasts).singleElement().satisfies(c -> assertThat(used(c)).isGreaterThan(68).isLessThanOrEqualTo(300));
    }
    assertThat(metrics()).containsPattern("infermesh_core_tenant_refused_total\\{reason=\"tokens_per_day\"} [5-9]");
    synchronized (trailers) {
      assertThat(trailers).hasSize(5).allSatisfy(t -> assertThat(t.get(MeshTrailers.RETRY_AFTER_MS)).matches("\\d+"));
    }
  }

  @Test
  void generate_cancelledByTheCaller_auditedCancelledWithTheTokensItUsed() throws Exception {
    var async = InferenceGrpc.newStub(mesh.channel(Role.EDGE, "edge-cancel", node.port()));
    CompletableFuture<Status> done = new CompletableFuture<>();
    CompletableFuture<Void> firstChunk = new CompletableFuture<>();
    Context.CancellableContext ctx = Context.current().withCancellation();
    ctx.run(() -> async.generate(request("cancel-1", "shop", 400), TestMesh.observer(c -> firstChunk.complete(null),
        done)));
    firstChunk.orTimeout(30, TimeUnit.SECONDS).join();

    ctx.cancel(null);

    assertThat(done.orTimeout(10, TimeUnit.SECONDS).join().getCode()).isEqualTo(Status.Code.CANCELLED);
    JsonNode a = audited("cancel-1");
    assertThat(a.path("status").asText()).isEqualTo("CANCELLED");
    assertThat(a.path("tenant").asText()).isEqualTo("shop");
    assertThat(a.path("completion_tokens").asLong()).isPositive().isLessThan(400);
    assertThat(AuditVerifier.verify(auditFiles())).isInstanceOf(AuditVerifier.Intact.class);
  }
}
