package io.infermesh.models.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.models.jinja.JinjaException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Real checkpoints' chat templates (Llama-3.1-Instruct, Mistral-7B-Instruct-v0.3 and ChatML as
 * test resources {@code chat-templates/*.jinja}, Qwen2.5-Instruct as the tiny tool model carries it,
 * {@code io/infermesh/models/tiny/qwen2.5-instruct.jinja}; each as its {@code tokenizer_config.json}
 * ships it)
 * rendered with tools, calls and results. Each expected string is what transformers' {@code
 * apply_chat_template} renders: produced with {@code chat-templates/hf_render.py} (Jinja2 3.1.6 in
 * transformers' environment and filters) and read against the template by hand.
 */
class JinjaChatTemplateTest {
  private static final String WEATHER = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
      + "\"description\": \"Current weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\": "
      + "{\"city\": {\"type\": \"string\"}, \"unit\": {\"type\": \"string\", \"enum\": [\"c\", \"f\"]}}, "
      + "\"required\": [\"city\"]}}}";
  private static final ToolCalls.Call PARIS = new ToolCalls.Call("get_weather", "{\"city\":\"Paris\",\"unit\":\"c\"}",
      "call12345");
  /** A system turn, a question, the assistant's call and the tool's result. */
  private static final List<ChatTurn> CALLED = List.of(
      ChatTurn.system("You are terse."),
      ChatTurn.user("Weather in Paris?"),
      ChatTurn.assistant("", List.of(PARIS)),
      ChatTurn.tool("call12345", "{\"temp\": 21}"));

  private static final String QWEN_TOOLS_HEADER = """
      # Tools

      You may call one or more functions to assist with the user query.

      You are provided with function signatures within <tools></tools> XML tags:
      <tools>
      """ + WEATHER + """

      </tools>

      For each function call, return a json object with function name and arguments within \
      <tool_call></tool_call> XML tags:
      <tool_call>
      {"name": <function-name>, "arguments": <args-json-object>}
      </tool_call><|im_end|>
      """;

  @Test
  void apply_qwen25WithToolsCallAndResult_rendersAsTransformers() {
    JinjaChatTemplate qwen = template("qwen2.5-instruct").build();

    assertThat(qwen.apply(CALLED, List.of(WEATHER), true)).isEqualTo("<|im_start|>system\nYou are terse.\n\n"
        + QWEN_TOOLS_HEADER + """
        <|im_start|>user
        Weather in Paris?<|im_end|>
        <|im_start|>assistant
        <tool_call>
        {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}
        </tool_call><|im_end|>
        <|im_start|>user
        <tool_response>
        {"temp": 21}
        </tool_response><|im_end|>
        <|im_start|>assistant
        """);
  }

  @Test
  void apply_qwen25ParallelCallsWithoutSystem_usesItsDefaultSystemAndJoinsResults() {
    List<ChatTurn> chat = List.of(
        ChatTurn.user("Paris and Oslo?"),
        ChatTurn.assistant("Checking both.", List.of(PARIS,
            new ToolCalls.Call("get_weather", "{\"city\": \"Oslo\"}", "call67890"))),
        ChatTurn.tool("call12345", "21"),
        ChatTurn.tool("call67890", "-3"));

    assertThat(template("qwen2.5-instruct").build().apply(chat, List.of(WEATHER), true)).isEqualTo(
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n"
        + QWEN_TOOLS_HEADER + """
        <|im_start|>user
        Paris and Oslo?<|im_end|>
        <|im_start|>assistant
        Checking both.
        <tool_call>
        {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}
        </tool_call>
        <tool_call>
        {"name": "get_weather", "arguments": {"city": "Oslo"}}
        </tool_call><|im_end|>
        <|im_start|>user
        <tool_response>
        21
        </tool_response>
        <tool_response>
        -3
        </tool_response><|im_end|>
        <|im_start|>assistant
        """);
  }

  @Test
  void render_qwen25WithoutTools_rendersItsPlainBranch() {
    JinjaChatTemplate qwen = template("qwen2.5-instruct").build();

    assertThat(qwen.render(List.of(ChatTurn.user("Hi")))).isEqualTo("""
        <|im_start|>system
        You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>
        <|im_start|>user
        Hi<|im_end|>
        <|im_start|>assistant
        """);
    assertThat(qwen.callsInMeshFormat()).isTrue();
    assertThat(qwen.toolRendering()).isEqualTo("checkpoint");
    assertThat(qwen.render(CALLED, List.of(WEATHER))).isEqualTo(qwen.apply(CALLED, List.of(WEATHER), true));
  }

  @Test
  void apply_llama31WithToolsCallAndResult_rendersAsTransformers() {
    JinjaChatTemplate llama = template("llama-3.1-instruct").bosToken("<|begin_of_text|>").build();

    // tools_in_user_message defaults to true: the list goes into the first user turn, indented;
    // a string tool result is "iterable", so the template writes it as a JSON string
    assertThat(llama.apply(CALLED, List.of(WEATHER), true)).isEqualTo("""
        <|begin_of_text|><|start_header_id|>system<|end_header_id|>

        Environment: ipython
        Cutting Knowledge Date: December 2023
        Today Date: 26 Jul 2024

        You are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>

        Given the following functions, please respond with a JSON for a function call with its proper \
        arguments that best answers the given prompt.

        Respond in the format {"name": function name, "parameters": dictionary of argument name and its \
        value}.Do not use variables.

        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather in a city",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {
                            "type": "string"
                        },
                        "unit": {
                            "type": "string",
                            "enum": [
                                "c",
                                "f"
                            ]
                        }
                    },
                    "required": [
                        "city"
                    ]
                }
            }
        }

        Weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>

        {"name": "get_weather", "parameters": {"city": "Paris", "unit": "c"}}<|eot_id|>\
        <|start_header_id|>ipython<|end_header_id|>

        "{\\"temp\\": 21}"<|eot_id|><|start_header_id|>assistant<|end_header_id|>

        """);
  }

  @Test
  void render_llama31WithTools_keepsTheFallbackInItsOwnFramingWithoutBos() {
    JinjaChatTemplate llama = template("llama-3.1-instruct").bosToken("<|begin_of_text|>").build();

    assertThat(llama.callsInMeshFormat()).isFalse();
    assertThat(llama.toolRendering()).isEqualTo("fallback");
    // the mesh parses <tool_call> blocks, so Llama 3.1 reads the fallback's system text and turns
    assertThat(llama.render(CALLED, List.of(WEATHER)))
        .isEqualTo(llama.apply(ToolCalls.fallback(CALLED, List.of(WEATHER)), List.of(), true)
            .substring("<|begin_of_text|>".length()))
        .startsWith("<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
            + "Today Date: 26 Jul 2024\n\nYou are terse.\n\n# Tools\n\nYou may call functions.")
        .contains("<|start_header_id|>user<|end_header_id|>\n\n<tool_response>\n{\"temp\": 21}\n</tool_response>"
            + "<|eot_id|>");
  }

  @Test
  void apply_llama31TwoCallsInOneTurn_raisesTheTemplatesOwnError() {
    List<ChatTurn> chat = List.of(ChatTurn.user("Both?"), ChatTurn.assistant("", List.of(PARIS, PARIS)));

    assertThatThrownBy(() -> template("llama-3.1-instruct").build().apply(chat, List.of(WEATHER), true))
        .isInstanceOf(JinjaException.class)
        .hasMessage("This model only supports single tool-calls at once!");
  }

  @Test
  void apply_mistralV03WithToolsCallAndResult_rendersAsTransformers() {
    JinjaChatTemplate mistral = template("mistral-7b-instruct-v0.3").bosToken("<s>").eosToken("</s>").build();

    // the system turn is only written before the last user turn, and this chat ends with a result
    assertThat(mistral.apply(CALLED, List.of(WEATHER), true)).isEqualTo("<s>[AVAILABLE_TOOLS] [" + WEATHER
        + "][/AVAILABLE_TOOLS][INST] Weather in Paris?[/INST][TOOL_CALLS] [{\"name\": \"get_weather\", "
        + "\"arguments\": {\"city\": \"Paris\", \"unit\": \"c\"}, \"id\": \"call12345\"}]</s>"
        + "[TOOL_RESULTS] {\"content\": {\"temp\": 21}, \"call_id\": \"call12345\"}[/TOOL_RESULTS]");
  }

  @Test
  void apply_mistralV03RolesNotAlternating_raisesTheTemplatesOwnError() {
    List<ChatTurn> chat = List.of(ChatTurn.user("a"), ChatTurn.user("b"));

    assertThatThrownBy(() -> template("mistral-7b-instruct-v0.3").build().apply(chat, List.of(), true))
        .isInstanceOf(JinjaException.class)
        .hasMessage("After the optional system message, conversation roles must alternate "
            + "user/assistant/user/assistant/...");
  }

  @Test
  void apply_chatMlWithoutGenerationPrompt_endsAfterTheLastTurn() {
    JinjaChatTemplate chatml = template("chatml").build();

    assertThat(chatml.apply(List.of(ChatTurn.system("Be brief."), ChatTurn.user("Hi")), List.of(), false))
        .isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
    assertThat(chatml.callsInMeshFormat()).isFalse();
    assertThat(chatml.render(List.of(ChatTurn.user("Hi"))))
        .isEqualTo(ChatTemplates.named("chatml").render(List.of(ChatTurn.user("Hi"))));
  }

  @Test
  void apply_strftimeNow_readsTheInjectedClock() {
    Clock clock = Clock.fixed(Instant.parse("2026-03-05T08:09:10Z"), ZoneOffset.UTC);
    JinjaChatTemplate t = JinjaChatTemplate.builder("{{ strftime_now('%d %b %Y, %A %H:%M:%S %%') }}").clock(clock)
        .build();

    assertThat(t.apply(List.of(ChatTurn.user("x")), List.of(), true)).isEqualTo("05 Mar 2026, Thursday 08:09:10 %");
  }

  @Test
  void apply_argumentsNotJson_isRefusedNamingThem() {
    List<ChatTurn> chat = List.of(ChatTurn.user("x"), ChatTurn.assistant("", List.of(new ToolCalls.Call("f", "{"))));

    assertThatThrownBy(() -> template("qwen2.5-instruct").build().apply(chat, List.of(), true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("a call's arguments is not JSON");
  }

  static JinjaChatTemplate.Builder template(String name) {
    return JinjaChatTemplate.builder(source(name));
  }

  /** The template {@code NAME.jinja} in {@code chat-templates/} (tests) or {@code io/infermesh/models/tiny/} (main). */
  static String source(String name) {
    InputStream found = JinjaChatTemplateTest.class.getResourceAsStream("/chat-templates/" + name + ".jinja");
    if (found == null) {
      found = JinjaChatTemplateTest.class.getResourceAsStream("/io/infermesh/models/tiny/" + name + ".jinja");
    }
    try (InputStream in = found) {
      if (in == null) {
        throw new IllegalStateException("no resource " + name + ".jinja");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
