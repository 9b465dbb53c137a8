package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.StructuredChatCompletion;
import io.infermesh.edge.SdkEdge;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Completion;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.LlamaEngine;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.models.grammar.Gbnf;
import io.infermesh.models.grammar.Grammar;
import io.infermesh.models.grammar.JsonSchemaGrammar;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Structured output and tool calls on the edge's own model (llama.cpp under the GBNF grammar),
 * driven by the official OpenAI Java SDK: answers parse into records, a streamed tool call is
 * assembled by the SDK's accumulator, unsupported requests get 400 naming the field.
 */
class StructuredOutputSdkTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static SdkEdge edge;
  private static LlamaEngine engine;
  private static OpenAIClient client;

  /** An answer shape for the SDK's class-based response_format. */
  public record City(String name, long population, boolean capital) {}

  /** A tool the SDK describes from its class. */
  public record GetWeather(String city, Unit unit) {}

  /** A closed set of values (an enum in the schema). */
  public enum Unit { CELSIUS, FAHRENHEIT }

  @BeforeAll
  static void start() throws Exception {
    // its own engine with a 1024-token context: the tool list alone is ~300 tokens of the tiny vocabulary
    EdgeConfig.Model model = TinyModel.modelConfig().toBuilder().contextSize(1024).parallel(1).build();
    edge = SdkEdge.start(model);
    engine = edge.engine();
    client = edge.client();
  }

  @AfterAll
  static void stop() {
    edge.close();
  }

  private static ChatCompletionCreateParams.Builder chat(String text, long seed) {
    return ChatCompletionCreateParams.builder().model("tiny-edge").addUserMessage(text).maxCompletionTokens(600)
        .temperature(1.0).seed(seed);
  }

  @Test
  void create_responseFormatClass_parsesIntoTheRecord() {
    for (long seed = 1; seed <= 3; seed++) {
      StructuredChatCompletion<City> completion = client.chat().completions()
          .create(chat("Name a city.", seed).responseFormat(City.class).build());

      assertThat(completion.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
      assertThat(completion.choices().get(0).message().content()).get().isInstanceOf(City.class);
    }
  }

  @Test
  void createStreaming_jsonSchema_concatenatedDeltasValidate() throws Exception {
    Map<String, Object> schema = Map.of("type", "object", "properties", Map.of(
            "ok", Map.of("type", "boolean"),
            "n", Map.of("type", "integer"),
            "kind", Map.of("enum", List.of("a", "b"))),
        "required", List.of("ok", "n", "kind"), "additionalProperties", false);
    ChatCompletionCreateParams params = chat("Answer in JSON.", 5).responseFormat(ResponseFormatJsonSchema.builder()
        .jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder().name("answer").strict(true)
            .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                .additionalProperties(toJsonValues(schema)).build()).build()).build()).build();
    StringBuilder text = new StringBuilder();
    String finish;
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
      stream.stream().forEach(acc::accumulate);
      ChatCompletion c = acc.chatCompletion();
      text.append(c.choices().get(0).message().content().orElseThrow());
      finish = c.choices().get(0).finishReason().asString();
    }

    assertThat(finish).isEqualTo("stop");
    JsonNode value = JSON.readTree(text.toString());
    assertThat(value.get("ok").isBoolean()).isTrue();
    assertThat(value.get("n").isIntegralNumber()).isTrue();
    assertThat(value.get("kind").asText()).isIn("a", "b");
    assertThat(value.size()).isEqualTo(3);
  }

  @Test
  void create_jsonObject_isAnObject() throws Exception {
    ChatCompletion c = client.chat().completions().create(chat("JSON please.", 11)
        .responseFormat(ResponseFormatJsonObject.builder().build()).build());

    assertThat(JSON.readTree(c.choices().get(0).message().content().orElseThrow()).isObject()).isTrue();
  }

  @Test
  void createStreaming_toolChoiceRequired_sdkAssemblesTheCall() {
    ChatCompletionCreateParams params = chat("Weather in Paris?", 3).addTool(GetWeather.class)
        .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).parallelToolCalls(false).build();
    ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(acc::accumulate);
    }
    ChatCompletion c = acc.chatCompletion();

    assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
    List<com.openai.models.chat.completions.ChatCompletionMessageToolCall> calls =
        c.choices().get(0).message().toolCalls().orElseThrow();
    assertThat(calls).hasSize(1);
    ChatCompletionMessageFunctionToolCall call = calls.get(0).asFunction();
    assertThat(call.id()).startsWith("call_");
    assertThat(call.function().name()).isEqualTo("GetWeather");
    assertThat(call.function().arguments(GetWeather.class)).isInstanceOf(GetWeather.class);
  }

  @Test
  void create_namedToolThenToolResult_roundTrips() {
    ChatCompletionCreateParams params = chat("Weather?", 8).addTool(GetWeather.class)
        .toolChoice(ChatCompletionToolChoiceOption.ofNamedToolChoice(
            com.openai.models.chat.completions.ChatCompletionNamedToolChoice.builder()
                .function(com.openai.models.chat.completions.ChatCompletionNamedToolChoice.Function.builder()
                    .name("GetWeather").build()).build())).build();
    ChatCompletion first = client.chat().completions().create(params);
    ChatCompletionMessageFunctionToolCall call =
        first.choices().get(0).message().toolCalls().orElseThrow().get(0).asFunction();

    ChatCompletion second = client.chat().completions().create(params.toBuilder()
        .addMessage(first.choices().get(0).message())
        .addMessage(com.openai.models.chat.completions.ChatCompletionToolMessageParam.builder()
            .toolCallId(call.id()).content("{\"celsius\": 21}").build())
        .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE).maxCompletionTokens(4).build());

    assertThat(first.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
    assertThat(second.choices().get(0).message().content()).isPresent();
  }

  @Test
  void create_unsupportedSchemaKeyword_is400NamingIt() {
    Map<String, Object> schema = Map.of("type", "object",
        "properties", Map.of("name", Map.of("type", "string", "minLength", 3)));
    assertThatThrownBy(() -> client.chat().completions().create(chat("x", 1).responseFormat(
        ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder().name("s")
            .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                .additionalProperties(toJsonValues(schema)).build()).build()).build()).build()))
        .isInstanceOf(BadRequestException.class)
        .hasMessageContaining("response_format.json_schema.schema")
        .hasMessageContaining("minLength");
  }

  @Test
  void create_unknownResponseFormatType_is400NamingTheField() {
    assertThatThrownBy(() -> client.chat().completions().create(chat("x", 1)
        .putAdditionalBodyProperty("response_format", JsonValue.from(Map.of("type", "yaml"))).build()))
        .isInstanceOf(BadRequestException.class)
        .hasMessageContaining("response_format.type");
  }

  @Test
  void create_legacyFunctions_is400NamingThem() {
    assertThatThrownBy(() -> client.chat().completions().create(chat("x", 1)
        .putAdditionalBodyProperty("functions", JsonValue.from(List.of(Map.of("name", "f")))).build()))
        .isInstanceOf(BadRequestException.class)
        .hasMessageContaining("functions");
  }

  /**
   * Every construct the compiler writes, run by llama.cpp itself: a grammar it failed to parse
   * would leave the output unconstrained (it only logs), so each answer must be exactly what the
   * schema allows.
   */
  @ParameterizedTest
  @ValueSource(strings = {
      "{\"const\":\"h\u00e9 \\\"q\\\" \u20ac\"}",
      "{\"enum\":[-1.5e3,[1,{}],null]}",
      "{\"type\":[\"number\",\"boolean\"]}",
      "{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"array\",\"items\":"
          + "{\"$ref\":\"#/$defs/n\"}}},\"required\":[\"k\"]}},\"$ref\":\"#/$defs/n\"}",
      "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"anyOf\":"
          + "[{\"type\":\"string\"},{\"type\":\"null\"}]}}}"})
  void generate_everyGrammarConstruct_llamaCppHoldsToIt(String schema) throws Exception {
    Grammar g = JsonSchemaGrammar.of(schema);
    SamplingParams sampling = new SamplingParams(200, 1f, 1f, 0, OptionalLong.of(3), List.of())
        .withGrammar(Optional.of(Gbnf.write(g)));
    StringBuilder out = new StringBuilder();
    Completion c = engine.generate(engine.renderChat(List.of(ChatMessage.of(Role.USER, "JSON"))), sampling,
        out::append, () -> false);

    if (c.finishReason() == FinishReason.STOP) {
      JsonNode value = JSON.readTree(out.toString());
      JsonNode expected = JSON.readTree(schema);
      if (expected.has("const")) {
        assertThat(value).isEqualTo(expected.get("const"));
      }
    } else {
      assertThat(out.toString()).as("a cut-off answer still starts as the schema says").matches("(?s)[\\[{\"0-9tfn-].*");
    }
  }

  private static Map<String, JsonValue> toJsonValues(Map<String, Object> map) {
    Map<String, JsonValue> out = new LinkedHashMap<>();
    map.forEach((k, v) -> out.put(k, JsonValue.from(v)));
    return out;
  }
}
