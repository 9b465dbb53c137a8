package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import io.infermesh.edge.SdkEdge;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.LlamaEngine;
import io.infermesh.models.chat.ChatTemplates;
import io.infermesh.models.chat.ChatTurn;
import io.infermesh.models.chat.JinjaChatTemplate;
import io.infermesh.models.chat.ToolCalls;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyChatTemplate;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tools on a model whose checkpoint ships a tool-aware template (the tiny edge model carrying
 * Qwen2.5-Instruct's, {@link TinyModelSpec#edgeTools}), through the OpenAI Java SDK: the prompt the
 * engine reads is the checkpoint's own rendering (its prompt token count is that text's, not the
 * fallback's), and the calls it writes parse back into {@code tool_calls}.
 */
class CheckpointToolTemplateSdkTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JinjaChatTemplate QWEN = JinjaChatTemplate.builder(TinyChatTemplate.QWEN25_TOOLS.source())
      .build();
  private static final Map<String, Object> WEATHER = tool();
  private static SdkEdge edge;
  private static LlamaEngine engine;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    // a 1024-token context: Qwen's tool instructions and the tool list take ~400 tokens of the tiny vocabulary
    EdgeConfig.Model model = TinyModel.modelConfig().toBuilder()
        .path(TinyModels.write(TinyModelSpec.edgeTools(GgmlType.Q8_0), TinyModel.directory())).name("tiny-edge-tools")
        .contextSize(1024).parallel(1).build();
    edge = SdkEdge.start(model);
    engine = edge.engine();
    client = edge.client();
  }

  @AfterAll
  static void stop() {
    edge.close();
  }

  @Test
  void load_autoWithQwensTemplate_rendersToolChatsWithTheCheckpoint() {
    assertThat(engine.chatTemplate().name()).isEqualTo("chatml");
    assertThat(engine.chatTemplate().toolRendering()).isEqualTo("checkpoint");
    assertThat(engine.info().chatTemplate()).isEqualTo("chatml");
  }

  @Test
  void create_toolChoiceRequired_readsTheCheckpointsPromptAndAnswersWithACall() throws Exception {
    ChatCompletion c = client.chat().completions().create(ask().toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
        .build());
    List<ChatTurn> turns = List.of(ChatTurn.user("Weather in Paris?"));
    List<String> tools = List.of(JSON.writeValueAsString(WEATHER));

    assertThat(c.usage().orElseThrow().promptTokens())
        .isEqualTo(tokens(QWEN.render(turns, tools)))
        .isNotEqualTo(tokens(ChatTemplates.named("chatml").render(turns, tools)));
    assertThat(QWEN.render(turns, tools)).startsWith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.");
    assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
    ChatCompletionMessageFunctionToolCall call = c.choices().get(0).message().toolCalls().orElseThrow().get(0)
        .asFunction();
    assertThat(call.function().name()).isEqualTo("get_weather");
    assertThat(JSON.readTree(call.function().arguments()).path("city").isTextual()).isTrue();
  }

  @Test
  void create_callThenToolResult_theCheckpointRendersTheCallAndTheResult() throws Exception {
    ChatCompletionCreateParams first = ask().toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
        .parallelToolCalls(false).build();
    ChatCompletion called = client.chat().completions().create(first);
    ChatCompletionMessageFunctionToolCall call = called.choices().get(0).message().toolCalls().orElseThrow().get(0)
        .asFunction();

    ChatCompletion answered = client.chat().completions().create(first.toBuilder()
        .addMessage(called.choices().get(0).message())
        .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("{\"celsius\": 21}").build())
        .toolChoice(ChatCompletionToolChoiceOption.Auto.AUTO).maxCompletionTokens(4).build());

    List<ChatTurn> turns = List.of(ChatTurn.user("Weather in Paris?"),
        ChatTurn.assistant("", List.of(new ToolCalls.Call("get_weather", call.function().arguments(), call.id()))),
        ChatTurn.tool(call.id(), "{\"celsius\": 21}"));
    String prompt = QWEN.render(turns, List.of(JSON.writeValueAsString(WEATHER)));
    assertThat(prompt).contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ",
        "<|im_start|>user\n<tool_response>\n{\"celsius\": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
    assertThat(answered.usage().orElseThrow().promptTokens()).isEqualTo(tokens(prompt));
  }

  @Test
  void create_toolMessageWithoutToolCallId_is400NamingIt() {
    assertThatThrownBy(() -> client.chat().completions().create(ask()
        .addMessage(ChatCompletionToolMessageParam.builder().toolCallId("x").content("1").build())
        .putAdditionalBodyProperty("messages", JsonValue.from(List.of(Map.of("role", "user", "content", "Hi"),
            Map.of("role", "tool", "content", "1")))).build()))
        .isInstanceOf(BadRequestException.class)
        .hasMessageContaining("messages[1].tool_call_id");
  }

  private static ChatCompletionCreateParams.Builder ask() {
    return ChatCompletionCreateParams.builder().model("tiny-edge-tools").addUserMessage("Weather in Paris?")
        .maxCompletionTokens(300).temperature(1.0).seed(3L)
        .putAdditionalBodyProperty("tools", JsonValue.from(List.of(WEATHER)));
  }

  private static long tokens(String prompt) {
    return engine.tokenize(prompt).length; // the tiny BPE model adds no beginning-of-sequence token
  }

  /** One function tool, its keys in a fixed order (the template writes them as sent). */
  private static Map<String, Object> tool() {
    Map<String, Object> city = new LinkedHashMap<>();
    city.put("type", "string");
    Map<String, Object> parameters = new LinkedHashMap<>();
    parameters.put("type", "object");
    parameters.put("properties", Map.of("city", city));
    parameters.put("required", List.of("city"));
    parameters.put("additionalProperties", false);
    Map<String, Object> function = new LinkedHashMap<>();
    function.put("name", "get_weather");
    function.put("description", "Current weather in a city");
    function.put("parameters", parameters);
    Map<String, Object> tool = new LinkedHashMap<>();
    tool.put("type", "function");
    tool.put("function", function);
    return tool;
  }
}
