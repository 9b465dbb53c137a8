package io.infermesh.edge.escalate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponseFor;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.Usage;
import io.infermesh.certs.MeshServer;
import io.infermesh.certs.Role;
import io.infermesh.certs.RoleAuthorizationPolicy;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.Audit;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.config.Privacy;
import io.infermesh.edge.config.Routing;
import io.infermesh.edge.privacy.PrivacyAction;
import io.infermesh.node.audit.AuditVerifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14's sensitive data through a real edge agent (tiny model, HTTP API, the OpenAI SDK) to a
 * core over real mTLS: a scripted core that records every request it receives, whole, and answers by
 * quoting the last message back in 3-char pieces, so placeholders reach the edge split across
 * chunks. The core must see placeholders only; the client must get its own values back.
 */
class MaskingEscalationTest {
  private static final String ALICE = "alice@example.com";
  private static final String PHONE = "+14155550123";
  /** What the scripted core adds of its own to a message that says {@code leak}: values the client never sent. */
  private static final String LEAKED = " Also: card 4111 1111 1111 1111, mail eve@evil.example";
  /** Every request the core received, as its full protobuf text. */
  private static final List<String> received = new CopyOnWriteArrayList<>();
  private static MeshServer core;
  private static EdgeAgent agent;
  private static OpenAIClient client;
  private static Path auditDir;

  @BeforeAll
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("masking-escalation");
    TestPki pki = TestPki.create(dir);
    Path edgeCerts = pki.issue(Role.EDGE, "edge-0").certificateChain().getParent();
    core = MeshServer.builder(0)
        .credentials(pki.issue(Role.CORE, "core-0"))
        .authorization(RoleAuthorizationPolicy.builder().allow(InferenceGrpc.SERVICE_NAME, Role.EDGE).build())
        .addService(new QuotingCore())
        .start();
    Privacy privacy = new Privacy(List.of(new Privacy.Policy("pii",
        Map.of("EMAIL", PrivacyAction.MASK, "PHONE", PrivacyAction.MASK, "CREDIT_CARD", PrivacyAction.BLOCK,
            "CODENAME", PrivacyAction.LOCAL_ONLY),
        Map.of("CODENAME", List.of("zephyr")), Map.of())), "pii");
    EdgeConfig config = TinyModel.config()
        .withEscalation(Escalation.builder().target("127.0.0.1:" + core.port()).tls(edgeCerts, "edge-0")
            .timeout(Duration.ofSeconds(20)).build())
        // every auto request is hard enough for the core: only local_only keeps one here
        .withRouting(Routing.builder().threshold(0).build())
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)))
        .withPrivacy(privacy)
        .withAudit(Audit.NONE.withDirectory(dir.resolve("audit")));
    auditDir = dir.resolve("audit");
    agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start();
    client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + agent.httpPort() + "/v1")
        .apiKey("unused").maxRetries(0).timeout(Duration.ofSeconds(30)).build();
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.close();
    }
    if (agent != null) {
      agent.close();
    }
    if (core != null) {
      core.close();
    }
  }

  @BeforeEach
  void clear() {
    received.clear();
  }

  private static ChatCompletionCreateParams chat(String model, String text) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage(text).maxCompletionTokens(8)
        .temperature(0.0).build();
  }

  @Test
  void create_emailAndPhoneToTheCore_coreSeesPlaceholdersAndClientGetsItsValues() {
    String text = "Write to " + ALICE + " or call " + PHONE + ", then tell " + ALICE + " again";

    HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse().create(chat("core", text));

    assertThat(raw.headers().values("x-infermesh-route")).containsExactly("core");
    assertThat(raw.parse().choices().get(0).message().content()).hasValue("You said: " + text);
    assertThat(received).hasSize(1);
    assertThat(received.get(0)).contains("Write to <EMAIL_1> or call <PHONE_1>, then tell <EMAIL_1> again")
        .doesNotContain(ALICE).doesNotContain("alice").doesNotContain("4155550123");
    assertThat(agent.registry().scrape())
        .contains("infermesh_edge_privacy_matches_total{action=\"mask\",kind=\"EMAIL\"}");
  }

  @Test
  void createStreaming_emailToTheCore_deltasJoinToTheClientsOwnText() {
    // longer than the output filter's hold-back, so that the answer arrives in many deltas
    String text = "Mail " + ALICE + " and bob@example.org today, " + "then read the rest of the news. ".repeat(15);
    StringBuilder answer = new StringBuilder();
    int[] deltas = {0};

    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(chat("core", text))) {
      stream.stream().forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(t -> {
        answer.append(t);
        deltas[0]++;
      })));
    }

    assertThat(answer.toString()).isEqualTo("You said: " + text);
    assertThat(deltas[0]).isGreaterThan(3);
    assertThat(received).singleElement().asString().contains("Mail <EMAIL_1> and <EMAIL_2> today")
        .doesNotContain(ALICE).doesNotContain("bob@");
  }

  @Test
  void create_coreAnswersACardAndAForeignEmail_clientGetsRedactionsAndItsOwnEmail() {
    String text = "leak something about " + ALICE;

    ChatCompletion answer = client.chat().completions().create(chat("core", text));

    assertThat(answer.choices().get(0).message().content())
        .hasValue("You said: " + text + " Also: card [CREDIT_CARD], mail [EMAIL]");
    assertThat(received).singleElement().asString().contains("leak something about <EMAIL_1>");
    assertThat(agent.registry().scrape())
        .contains("infermesh_edge_privacy_matches_total{action=\"redact_output\",kind=\"CREDIT_CARD\"}")
        .contains("infermesh_edge_privacy_matches_total{action=\"redact_output\",kind=\"EMAIL\"}");
  }

  @Test
  void createStreaming_coreAnswersACardAndAForeignEmail_deltasJoinToRedactionsAndTheClientsOwnEmail() {
    String text = "please leak, and write to " + ALICE;
    StringBuilder answer = new StringBuilder();

    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(chat("core", text))) {
      stream.stream().forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(answer::append)));
    }

    assertThat(answer.toString()).isEqualTo("You said: " + text + " Also: card [CREDIT_CARD], mail [EMAIL]");
  }

  @Test
  void create_blockedCardNumber_is400NamingTheDetectorAndNeverReachesTheCore() {
    assertThatThrownBy(() -> client.chat().completions().create(chat("core", "my card is 4111 1111 1111 1111")))
        .isInstanceOfSatisfying(BadRequestException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(400);
          assertThat(e.getMessage()).contains("CREDIT_CARD").doesNotContain("4111");
          assertThat(e.body().toString()).contains("sensitive_data_blocked").doesNotContain("4111");
        });
    assertThat(received).isEmpty();
    assertThat(agent.registry().scrape()).contains("reason=\"privacy_blocked\"");
  }

  @Test
  void create_localOnlyWordOnAuto_staysOnTheEdgeAndNeverReachesTheCore() {
    HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse()
        .create(chat("auto", "plan the zephyr launch and write to " + ALICE));

    assertThat(raw.headers().values("x-infermesh-route")).containsExactly("edge");
    assertThat(raw.headers().values("x-infermesh-reason")).containsExactly("policy-local-only");
    assertThat(raw.parse().choices()).hasSize(1);
    assertThat(received).isEmpty();
  }

  @Test
  void create_localOnlyWordPinnedToTheCore_is400NamingWhy() {
    assertThatThrownBy(() -> client.chat().completions().create(chat("core", "the Zephyr numbers")))
        .isInstanceOfSatisfying(BadRequestException.class, e -> {
          assertThat(e.getMessage()).contains("CODENAME").contains("model 'core'").doesNotContain("Zephyr");
          assertThat(e.body().toString()).contains("sensitive_data_local_only");
        });
    assertThat(received).isEmpty();
  }

  @Test
  void create_nothingSensitive_reachesTheCoreAsSent() {
    String text = "Tell me about foxes";

    ChatCompletion answer = client.chat().completions().create(chat("core", text));

    assertThat(answer.choices().get(0).message().content()).hasValue("You said: " + text);
    assertThat(received).singleElement().asString().contains(text);
  }

  @Test
  void audit_maskedAndBlockedRequests_recordKindsAndCountsNeverValues() throws Exception {
    client.chat().completions().create(chat("core", "Audit " + ALICE + " and " + ALICE));
    assertThatThrownBy(() -> client.chat().completions().create(chat("core", "audit card 4111 1111 1111 1111")))
        .isInstanceOf(BadRequestException.class);

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(auditLines())
        .anySatisfy(line -> assertThat(line).contains("\"route\":\"core\",\"reason\":\"alias-core\"")
            .contains("\"masking\":{\"EMAIL\":2}").contains("\"status\":\"ok:stop\"")
            .contains("\"caller\":\"anonymous\""))
        .anySatisfy(line -> assertThat(line).contains("\"status\":\"refused:privacy_blocked\"")));
    String all = String.join("\n", auditLines());
    assertThat(all).doesNotContain("alice").doesNotContain("Audit ").doesNotContain("4111");
    try (Stream<Path> files = Files.list(auditDir)) {
      assertThat(AuditVerifier.verify(files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()))
          .isInstanceOf(AuditVerifier.Intact.class);
    }
  }

  private static List<String> auditLines() throws Exception {
    List<String> lines = new ArrayList<>();
    try (Stream<Path> files = Files.list(auditDir)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()) {
        lines.addAll(Files.readAllLines(f));
      }
    }
    return lines;
  }

  /**
   * Records each request whole and quotes its last message back, 3 chars a chunk; a message that says
   * {@code leak} gets {@link #LEAKED} too.
   */
  private static final class QuotingCore extends InferenceGrpc.InferenceImplBase {
    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateChunk> out) {
      received.add(request.toString());
      List<ChatMessage> messages = request.getChat().getMessagesList();
      String last = messages.get(messages.size() - 1).getContent();
      String answer = "You said: " + last + (last.contains("leak") ? LEAKED : "");
      for (int i = 0; i < answer.length(); i += 3) {
        out.onNext(GenerateChunk.newBuilder().setText(answer.substring(i, Math.min(answer.length(), i + 3))).build());
      }
      out.onNext(GenerateChunk.newBuilder().setFinishReason(FinishReason.FINISH_REASON_STOP)
          .setUsage(Usage.newBuilder().setPromptTokens(5).setCompletionTokens(answer.length() / 3)).build());
      out.onCompleted();
    }
  }
}
