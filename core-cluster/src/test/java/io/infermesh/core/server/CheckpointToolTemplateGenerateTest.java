package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.FunctionTool;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.ToolCalling;
import io.infermesh.api.v1.ToolTurn;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.models.chat.ChatTurn;
import io.infermesh.models.chat.JinjaChatTemplate;
import io.infermesh.models.chat.ToolCalls;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.tiny.TinyChatTemplate;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real core node serving a checkpoint whose own template renders tools (the tiny model with
 * Qwen2.5-Instruct's): a chat whose tool turns carry their OpenAI form is read through that
 * template (the prompt's token count is its rendering's), and the constrained answer is calls.
 */
class CheckpointToolTemplateGenerateTest {
  private static final String TOOL = "{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"parameters\":"
      + "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}},\"required\":[\"q\"]}}}";
  private static TestMesh mesh;
  private static CoreNode node;
  private static Tokenizer tokenizer;

  @BeforeAll
  static void start() throws Exception {
    mesh = new TestMesh("core-tool-template");
    CoreConfig tiny = mesh.tinyCore(CoreConfig.Scheduling.builder().maxQueued(4).maxBatchSize(4).maxBatchTokens(512)
        .prefillChunk(64).kvBlocks(0, 16).contextLength(512).aging(Duration.ofSeconds(10)).build());
    Path model = TinyModels.write(TinyModelSpec.edgeTools(GgmlType.F32), mesh.root().resolve("models"));
    try (GgufFile f = GgufFile.open(model)) {
      tokenizer = Tokenizer.fromGguf(f.metadata());
    }
    // the tiny core node, serving the model that carries Qwen2.5's template instead
    node = CoreNode.start(CoreConfig.builder(tiny.node(), tiny.tls()).grpcPort(tiny.grpcPort())
        .model(CoreConfig.Model.builder("tiny-edge-tools").path(model).device(tiny.model().device())
            .defaultMaxTokens(tiny.model().defaultMaxTokens()).build())
        .scheduler(tiny.scheduler()).metricsPort(tiny.metricsPort()).build());
    node.loadConfiguredModel();
  }

  @AfterAll
  static void stop() throws Exception {
    mesh.close();
    node.close();
  }

  @Test
  void generate_toolTurnsAndRequiredCall_readsTheCheckpointsPromptAndAnswersWithCalls() throws Exception {
    List<ChatMessage> chat = List.of(
        ChatMessage.newBuilder().setRole("system").setContent(ToolCalls.systemWithTools("", List.of(TOOL)))
            .setToolTurn(ToolTurn.newBuilder().addTools(TOOL)).build(),
        ChatMessage.newBuilder().setRole("user").setContent("Find it.").build());
    GenerateRequest request = GenerateRequest.newBuilder().setModel("tiny-edge-tools")
        .setChat(ChatMessages.newBuilder().addAllMessages(chat))
        .setToolCalling(ToolCalling.newBuilder().setChoice("required").setParallel(false)
            .addFunctions(FunctionTool.newBuilder().setName("lookup").setParametersJson(
                "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}},\"required\":[\"q\"]}")))
        .setSampling(SamplingParams.newBuilder().setMaxTokens(60).setTemperature(1f).setSeed(4)).build();

    List<GenerateChunk> chunks = new ArrayList<>();
    InferenceGrpc.newBlockingStub(mesh.channel(Role.EDGE, "edge-client", node.port())).generate(request)
        .forEachRemaining(chunks::add);

    String prompt = JinjaChatTemplate.builder(TinyChatTemplate.QWEN25_TOOLS.source()).build()
        .render(List.of(ChatTurn.user("Find it.")), List.of(TOOL));
    GenerateChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.getUsage().getPromptTokens()).isEqualTo(tokenizer.encode(prompt, true, true).length);
    String answer = chunks.stream().map(GenerateChunk::getText).reduce("", String::concat);
    if (last.getFinishReason() == FinishReason.FINISH_REASON_STOP) {
      assertThat(ToolCalls.parse(answer)).as(answer).hasValueSatisfying(calls ->
          assertThat(calls).allSatisfy(c -> assertThat(c.name()).isEqualTo("lookup")));
    } else {
      assertThat(answer).startsWith(ToolCalls.OPEN);
    }
  }
}
