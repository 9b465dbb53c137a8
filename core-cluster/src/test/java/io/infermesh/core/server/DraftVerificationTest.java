package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.api.v1.EscalationContext;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.Usage;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.models.tokenizer.Tokenizer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An escalated request's draft ({@code escalation.local_draft}) over real gRPC on the tiny core
 * model: the answer is the one the core gives without a draft (text, ids, finish, usage), whatever
 * the draft; usage reports how many draft tokens were scored and accepted, and so do the metrics.
 */
class DraftVerificationTest {
  private static final String PROMPT = "The quick brown fox";
  private static TestMesh mesh;
  private static CoreNode node;
  private static InferenceGrpc.InferenceBlockingStub stub;

  @BeforeAll
  static void start() throws Exception {
    mesh = new TestMesh("core-draft");
    node = CoreNode.start(mesh.tinyCore(CoreConfig.Scheduling.builder()
        .maxQueued(4).maxBatchSize(4).maxBatchTokens(256).prefillChunk(64).contextLength(512).build()));
    node.loadConfiguredModel();
    stub = InferenceGrpc.newBlockingStub(mesh.channel(Role.EDGE, "edge-client", node.port()));
  }

  @AfterAll
  static void stop() throws Exception {
    mesh.close();
    node.close();
  }

  private static List<GenerateChunk> run(SamplingParams.Builder sampling, String draft) {
    GenerateRequest.Builder r = GenerateRequest.newBuilder().setPrompt(PROMPT).setSampling(sampling);
    if (draft != null) {
      r.setEscalation(EscalationContext.newBuilder().setReason("cascade-rejected").setLocalDraft(draft));
    }
    List<GenerateChunk> out = new ArrayList<>();
    stub.generate(r.build()).forEachRemaining(out::add);
    return out;
  }

  private static SamplingParams.Builder greedy(int maxTokens) {
    return SamplingParams.newBuilder().setTemperature(0f).setMaxTokens(maxTokens);
  }

  private static String text(List<GenerateChunk> chunks) {
    return chunks.stream().map(GenerateChunk::getText).reduce("", String::concat);
  }

  private static List<Integer> ids(List<GenerateChunk> chunks) {
    return chunks.stream().flatMap(c -> c.getTokenIdsList().stream()).toList();
  }

  private static GenerateChunk last(List<GenerateChunk> chunks) {
    return chunks.get(chunks.size() - 1);
  }

  @Test
  void generate_ownAnswerAsDraft_sameAnswerAndTheAgreeingPrefixAccepted() {
    List<GenerateChunk> plain = run(greedy(24), null);
    List<GenerateChunk> drafted = run(greedy(24), text(plain));

    assertThat(text(drafted)).isEqualTo(text(plain));
    assertThat(ids(drafted)).isEqualTo(ids(plain));
    Usage usage = last(drafted).getUsage();
    assertThat(usage.getCompletionTokens()).isEqualTo(last(plain).getUsage().getCompletionTokens());
    // the draft is the answer's text tokenized alone: accepted as far as those ids agree with the answer's
    Tokenizer tokenizer = node.host().current().orElseThrow().tokenizer();
    int[] draftIds = tokenizer.encode(text(plain), false, false);
    int[] draftIdsKept = Arrays.copyOf(draftIds, Math.min(draftIds.length, 24));
    int agree = 0;
    while (agree < draftIdsKept.length && draftIdsKept[agree] == ids(plain).get(agree)) {
      agree++;
    }
    assertThat(usage.getDraftTokens()).isEqualTo(draftIdsKept.length);
    assertThat(usage.getDraftAcceptedTokens()).isEqualTo(agree);
    assertThat(last(plain).getUsage().getDraftTokens()).isZero();
  }

  @Test
  void generate_unrelatedDraft_sameAnswer() {
    List<GenerateChunk> plain = run(greedy(16), null);
    List<GenerateChunk> drafted = run(greedy(16), "zebra quantum 1234 lorem ipsum dolor sit amet");

    assertThat(text(drafted)).isEqualTo(text(plain));
    assertThat(ids(drafted)).isEqualTo(ids(plain));
    assertThat(last(drafted).getUsage().getDraftTokens()).isPositive();
  }

  @Test
  void generate_stopStringInsideTheDraft_cutsAndCountsAsWithout() {
    String answer = text(run(greedy(24), null));
    String stop = answer.substring(answer.length() / 2, answer.length() / 2 + 2);
    SamplingParams.Builder stopping = greedy(24).addStop(stop);

    List<GenerateChunk> plain = run(stopping.clone(), null);
    List<GenerateChunk> drafted = run(stopping.clone(), answer);

    assertThat(last(plain).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(text(drafted)).isEqualTo(text(plain));
    assertThat(last(drafted).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(last(drafted).getUsage().getCompletionTokens()).isEqualTo(last(plain).getUsage().getCompletionTokens());
  }

  @Test
  void generate_seededSamplingWithDraft_isReproducible() {
    SamplingParams.Builder seeded = SamplingParams.newBuilder().setTemperature(0.8f).setSeed(42).setMaxTokens(16);
    String draft = " jumps over the lazy dog";

    List<GenerateChunk> first = run(seeded.clone(), draft);
    List<GenerateChunk> second = run(seeded.clone(), draft);

    assertThat(ids(first)).isEqualTo(ids(second));
    assertThat(last(first).getUsage().getDraftTokens()).isPositive();
  }

  @Test
  void generate_withLogprobs_draftIsNotVerified() {
    List<GenerateChunk> plain = run(greedy(8).setLogprobs(true), null);
    List<GenerateChunk> drafted = run(greedy(8).setLogprobs(true), text(plain));

    assertThat(ids(drafted)).isEqualTo(ids(plain));
    assertThat(drafted.stream().mapToInt(GenerateChunk::getLogprobsCount).sum()).isEqualTo(ids(plain).size());
    assertThat(last(drafted).getUsage().getDraftTokens()).isZero();
  }

  @Test
  void metrics_afterAVerifiedDraft_countDraftedAndAcceptedTokens() throws Exception {
    String answer = text(run(greedy(12), null));
    run(greedy(12), answer);

    String scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + node.metricsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    assertThat(scrape).containsPattern("infermesh_core_draft_tokens_total\\{result=\"drafted\"} [1-9]")
        .contains("infermesh_core_draft_tokens_total{result=\"accepted\"}");
  }
}
