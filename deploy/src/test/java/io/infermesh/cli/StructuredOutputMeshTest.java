package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.StructuredChatCompletion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Structured output and tool calls through the whole mesh with the official OpenAI Java SDK: on
 * the core route (the core's own sampler under the token mask) and the edge route (llama.cpp
 * under GBNF), answers parse into records and streamed tool calls assemble.
 */
class StructuredOutputMeshTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static MeshUp mesh;
  private static OpenAIClient client;

  /** The answer shape of the class-based response_format. */
  public record Person(String name, long age, double score, List<String> tags, Address address) {}

  /** A nested object. */
  public record Address(String city, boolean verified) {}

  /** A tool the SDK describes from its class. */
  public record GetWeather(String city, Unit unit) {}

  /** An enum in the tool's schema. */
  public enum Unit { CELSIUS, FAHRENHEIT }

  @BeforeAll
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("structured-mesh");
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(), d.routing(),
        Duration.ofSeconds(30)));
    client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + mesh.edge().httpPort() + "/v1")
        .apiKey("unused").maxRetries(0).build();
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.close();
    }
    if (mesh != null) {
      mesh.close();
    }
  }

  private static ChatCompletionCreateParams.Builder chat(String model, String text, long seed) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage(text).maxCompletionTokens(300)
        .temperature(1.0).seed(seed);
  }

  @Test
  void create_coreRouteFiveFieldRecord_parsesEveryTime() {
    for (long seed = 1; seed <= 5; seed++) {
      StructuredChatCompletion<Person> c = client.chat().completions()
          .create(chat("core", "Describe someone.", seed).responseFormat(Person.class).build());

      assertThat(c.model()).isEqualTo("tiny-core");
      assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
      assertThat(c.choices().get(0).message().content()).get().isInstanceOf(Person.class);
    }
  }

  @Test
  void createStreaming_coreRouteToolChoiceRequired_sdkAssemblesTheCall() {
    String model = "core";
    ChatCompletionCreateParams params = chat(model, "Weather in Paris?", 3).addTool(GetWeather.class)
        .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).parallelToolCalls(false).build();
    ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(acc::accumulate);
    }
    ChatCompletion c = acc.chatCompletion();

    assertThat(c.model()).isEqualTo("tiny-core");
    assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
    List<ChatCompletionMessageToolCall> calls = c.choices().get(0).message().toolCalls().orElseThrow();
    assertThat(calls).hasSize(1);
    ChatCompletionMessageFunctionToolCall call = calls.get(0).asFunction();
    assertThat(call.id()).startsWith("call_");
    assertThat(call.function().name()).isEqualTo("GetWeather");
    assertThat(call.function().arguments(GetWeather.class)).isInstanceOf(GetWeather.class);
  }

  /** A short answer shape: the edge's 512-token context and random weights finish it in 100 tokens. */
  public record Flag(boolean ok) {}

  @Test
  void create_edgeRouteRecord_parses() {
    StructuredChatCompletion<Flag> c = client.chat().completions().create(chat("edge", "Ok?", 2)
        .maxCompletionTokens(100).responseFormat(Flag.class).build());

    assertThat(c.model()).isEqualTo("tiny-edge-q8_0");
    assertThat(c.choices().get(0).message().content()).get().isInstanceOf(Flag.class);
  }

  @Test
  void create_coreRouteParallelCalls_eachValidates() {
    for (long seed = 1; seed <= 3; seed++) {
      ChatCompletion c = client.chat().completions().create(chat("core", "Weather in two cities?", seed)
          .addTool(GetWeather.class).toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build());

      assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
      for (ChatCompletionMessageToolCall call : c.choices().get(0).message().toolCalls().orElseThrow()) {
        assertThat(call.asFunction().function().arguments(GetWeather.class)).isInstanceOf(GetWeather.class);
      }
    }
  }

  @Test
  void createStreaming_coreRouteJsonSchema_deltasJoinToValidJson() throws Exception {
    Map<String, JsonValue> schema = new LinkedHashMap<>();
    schema.put("type", JsonValue.from("object"));
    schema.put("properties", JsonValue.from(Map.of("id", Map.of("type", "integer"),
        "state", Map.of("anyOf", List.of(Map.of("type", "null"), Map.of("enum", List.of("on", "off")))))));
    schema.put("required", JsonValue.from(List.of("id", "state")));
    schema.put("additionalProperties", JsonValue.from(false));
    ChatCompletionCreateParams params = chat("core", "JSON.", 4).responseFormat(ResponseFormatJsonSchema.builder()
        .jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder().name("device").strict(true)
            .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder().additionalProperties(schema).build())
            .build()).build()).build();
    StringBuilder text = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(ch -> ch.choices().forEach(choice -> choice.delta().content().ifPresent(text::append)));
    }

    JsonNode value = JSON.readTree(text.toString());
    assertThat(value.get("id").isIntegralNumber()).as(text.toString()).isTrue();
    assertThat(value.get("state").isNull() || List.of("on", "off").contains(value.get("state").asText())).isTrue();
  }
}
