package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.FunctionTool;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ResponseFormat;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.ToolCalling;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.models.chat.ToolCalls;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A real core node constraining its own sampler: response_format and tool_calling over gRPC. */
class ConstrainedGenerateTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SCHEMA = """
      {"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer"},
       "kind":{"enum":["x","y"]},"more":{"type":"array","items":{"type":"number"}}},
       "required":["name","n","kind"]}""";
  private static TestMesh mesh;
  private static CoreNode node;

  @BeforeAll
  static void start() throws Exception {
    mesh = new TestMesh("core-constrained");
    CoreConfig config = mesh.tinyCore(CoreConfig.Scheduling.builder()
        .maxQueued(4).maxBatchSize(4).maxBatchTokens(256).prefillChunk(64).contextLength(1024)
        .build());
    node = CoreNode.start(config);
    node.loadConfiguredModel();
  }

  @AfterAll
  static void stop() throws Exception {
    mesh.close();
    node.close();
  }

  private static InferenceGrpc.InferenceBlockingStub edge() throws Exception {
    return InferenceGrpc.newBlockingStub(mesh.channel(Role.EDGE, "edge-client", node.port()));
  }

  private static GenerateRequest.Builder chat(String text, int maxTokens, long seed) {
    return GenerateRequest.newBuilder()
        .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent(text)))
        .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(1f).setSeed(seed));
  }

  private static String text(List<GenerateChunk> chunks) {
    return chunks.stream().map(GenerateChunk::getText).reduce("", String::concat);
  }

  private static List<GenerateChunk> generate(GenerateRequest r) throws Exception {
    List<GenerateChunk> out = new ArrayList<>();
    edge().generate(r).forEachRemaining(out::add);
    return out;
  }

  @Test
  void generate_jsonSchema_everySeedValidatesAndStops() throws Exception {
    for (long seed = 1; seed <= 6; seed++) {
      List<GenerateChunk> chunks = generate(chat("JSON", 120, seed)
          .setResponseFormat(ResponseFormat.newBuilder().setJsonSchema(SCHEMA)).build());
      JsonNode value = JSON.readTree(text(chunks));

      assertThat(chunks.get(chunks.size() - 1).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
      assertThat(value.get("name").isTextual()).isTrue();
      assertThat(value.get("n").isIntegralNumber()).isTrue();
      assertThat(value.get("kind").asText()).isIn("x", "y");
    }
  }

  @Test
  void generate_maxTokensBelowTheShortestAnswer_endsWithLength() throws Exception {
    List<GenerateChunk> chunks = generate(chat("JSON", 5, 1)
        .setResponseFormat(ResponseFormat.newBuilder().setJsonSchema(SCHEMA)).build());

    assertThat(chunks.get(chunks.size() - 1).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(text(chunks)).startsWith("{\"n").doesNotEndWith("}");
  }

  @Test
  void generate_unsupportedKeyword_invalidArgumentNamingIt() {
    assertThatThrownBy(() -> generate(chat("JSON", 50, 1).setResponseFormat(ResponseFormat.newBuilder()
        .setJsonSchema("{\"type\":\"string\",\"pattern\":\"^a+$\"}")).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("response_format.json_schema").contains("pattern");
        });
  }

  @Test
  void generate_toolCallingRequired_answerIsWellFormedCalls() throws Exception {
    ToolCalling tools = ToolCalling.newBuilder().setChoice("required").setParallel(true)
        .addFunctions(FunctionTool.newBuilder().setName("lookup").setParametersJson(
            "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"},\"k\":{\"type\":\"integer\"}},"
                + "\"required\":[\"q\"]}"))
        .addFunctions(FunctionTool.newBuilder().setName("now")).build();
    for (long seed = 1; seed <= 4; seed++) {
      String answer = text(generate(chat("Call a tool.", 150, seed).setToolCalling(tools).build()));
      List<ToolCalls.Call> calls = ToolCalls.parse(answer).orElseThrow(() -> new AssertionError(answer));

      assertThat(calls).isNotEmpty();
      for (ToolCalls.Call c : calls) {
        assertThat(c.name()).isIn("lookup", "now");
        JsonNode args = JSON.readTree(c.arguments());
        if (c.name().equals("lookup")) {
          assertThat(args.get("q").isTextual()).isTrue();
        } else {
          assertThat(args.isEmpty()).isTrue();
        }
      }
    }
  }
}
