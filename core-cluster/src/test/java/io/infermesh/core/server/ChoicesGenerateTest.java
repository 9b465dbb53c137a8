package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code n} choices over real gRPC on the tiny core model: one call, chunks naming their choice. */
class ChoicesGenerateTest {
  private static final String PROMPT = "The quick brown fox jumps over the lazy dog, and then the quick brown fox";
  private static TestMesh mesh;
  private static CoreNode node;
  private static InferenceGrpc.InferenceBlockingStub stub;

  @BeforeAll
  static void start() throws Exception {
    mesh = new TestMesh("core-choices");
    CoreConfig config = mesh.tinyCore(new CoreConfig.Scheduling(8, 8, 256, 64, 0, 16, 512, Duration.ofSeconds(10)));
    node = CoreNode.start(config);
    node.loadConfiguredModel();
    stub = InferenceGrpc.newBlockingStub(mesh.channel(Role.EDGE, "edge-client", node.port()));
  }

  @AfterAll
  static void stop() throws Exception {
    mesh.close();
    node.close();
  }

  private static List<GenerateChunk> run(int n, SamplingParams.Builder sampling) {
    List<GenerateChunk> out = new ArrayList<>();
    stub.generate(GenerateRequest.newBuilder().setPrompt(PROMPT).setN(n).setSampling(sampling).build())
        .forEachRemaining(out::add);
    return out;
  }

  private static String text(List<GenerateChunk> chunks, int choice) {
    return chunks.stream().filter(c -> c.getIndex() == choice).map(GenerateChunk::getText).collect(Collectors.joining());
  }

  @Test
  void generate_threeGreedyChoices_chunksNameTheirChoiceAndEachEndsWithItsUsage() {
    SamplingParams.Builder greedy = SamplingParams.newBuilder().setTemperature(0f).setMaxTokens(6);
    List<GenerateChunk> single = run(1, greedy);
    List<GenerateChunk> three = run(3, greedy);

    assertThat(three).extracting(GenerateChunk::getIndex).containsOnly(0, 1, 2);
    for (int i = 0; i < 3; i++) {
      int choice = i;
      assertThat(text(three, i)).as("choice %d", i).isEqualTo(text(single, 0)).isNotEmpty();
      assertThat(three).filteredOn(c -> c.getIndex() == choice)
          .filteredOn(c -> c.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED)
          .singleElement().extracting(GenerateChunk::getFinishReason).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    }
    GenerateChunk singleLast = single.get(single.size() - 1);
    assertThat(three).filteredOn(GenerateChunk::hasUsage).hasSize(3).allSatisfy(c -> {
      assertThat(c.getFinishReason()).isNotEqualTo(FinishReason.FINISH_REASON_UNSPECIFIED);
      assertThat(c.getUsage()).as("the prompt and that choice's tokens").isEqualTo(singleLast.getUsage());
    });
    assertThat(three.get(0).hasServedBy()).isTrue();
  }

  @Test
  void generate_seededChoices_choiceIEqualsASingleAnswerWithSeedPlusI() {
    List<GenerateChunk> three = run(3, SamplingParams.newBuilder().setTemperature(1f).setSeed(42).setMaxTokens(8)
        .setLogprobs(true));
    for (int i = 0; i < 3; i++) {
      List<GenerateChunk> alone = run(1, SamplingParams.newBuilder().setTemperature(1f).setSeed(42 + i).setMaxTokens(8));
      int choice = i;
      List<Integer> ids = three.stream().filter(c -> c.getIndex() == choice)
          .flatMap(c -> c.getTokenIdsList().stream()).toList();
      assertThat(ids).as("choice %d", i).isEqualTo(alone.stream().flatMap(c -> c.getTokenIdsList().stream()).toList());
      assertThat(three.stream().filter(c -> c.getIndex() == choice).mapToInt(GenerateChunk::getLogprobsCount).sum())
          .as("one log-probability per token of choice %d", i).isEqualTo(ids.size());
    }
  }

  @Test
  void generate_nOutOfRange_isInvalidArgumentNamingN() {
    for (int n : new int[] {9, -1}) {
      assertThatThrownBy(() -> run(n, SamplingParams.newBuilder().setMaxTokens(2)))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).startsWith("n: ").contains("[1, 8]");
          });
    }
  }

  @Test
  void generate_nUnset_answersOneChoice() {
    List<GenerateChunk> chunks = run(0, SamplingParams.newBuilder().setTemperature(0f).setMaxTokens(3));
    assertThat(chunks).extracting(GenerateChunk::getIndex).containsOnly(0);
    assertThat(chunks.get(chunks.size() - 1).getUsage().getCompletionTokens()).isEqualTo(3);
  }
}
