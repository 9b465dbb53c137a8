package io.infermesh.core.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ToolCallPart;
import io.infermesh.api.v1.ToolTurn;
import io.infermesh.core.status.CoreException;
import io.infermesh.models.chat.ChatTemplate;
import io.infermesh.models.chat.ChatTemplates;
import io.infermesh.models.chat.ChatTurn;
import io.infermesh.models.chat.JinjaChatTemplate;
import io.infermesh.models.chat.ToolCalls;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.tiny.TinyChatTemplate;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Wire chats whose tool turns carry their OpenAI form, rendered by the core: the model's own
 * template (the tiny model with Qwen2.5's) reads them as sent; a fixed template reads the fallback
 * text, exactly as it did before tool turns were sent.
 */
class ChatPromptTest {
  private static final String TOOL = "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
      + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}";
  private static final ToolCalls.Call CALL = new ToolCalls.Call("get_weather", "{\"city\":\"Oslo\"}", "call_7");
  private static Tokenizer tokenizer;

  @BeforeAll
  static void load() throws Exception {
    Path model = TinyModels.write(TinyModelSpec.edgeTools(GgmlType.F32), Files.createTempDirectory("chat-prompt"));
    try (GgufFile f = GgufFile.open(model)) {
      tokenizer = Tokenizer.fromGguf(f.metadata());
    }
  }

  /** A chat as an edge sends it: the fallback text in role/content, the OpenAI form in tool_turn. */
  static List<ChatMessage> wireChat() {
    return List.of(
        ChatMessage.newBuilder().setRole("system").setContent(ToolCalls.systemWithTools("", List.of(TOOL)))
            .setToolTurn(ToolTurn.newBuilder().addTools(TOOL)).build(),
        ChatMessage.newBuilder().setRole("user").setContent("Weather in Oslo?").build(),
        ChatMessage.newBuilder().setRole("assistant").setContent(ToolCalls.assistantText("", List.of(CALL)))
            .setToolTurn(ToolTurn.newBuilder().setRole("assistant").addToolCalls(ToolCallPart.newBuilder()
                .setId("call_7").setName("get_weather").setArguments("{\"city\":\"Oslo\"}"))).build(),
        ChatMessage.newBuilder().setRole("user").setContent(ToolCalls.toolResult("-3"))
            .setToolTurn(ToolTurn.newBuilder().setRole("tool").setToolCallId("call_7").setContent("-3")).build());
  }

  @Test
  void render_qwenToolTemplate_readsToolTurnsAsSent() {
    ChatTemplate template = ChatTemplateChoice.of(Optional.of(TinyChatTemplate.QWEN25_TOOLS.source()), tokenizer);
    List<ChatTurn> asSent = List.of(ChatTurn.user("Weather in Oslo?"), ChatTurn.assistant("", List.of(CALL)),
        ChatTurn.tool("call_7", "-3"));

    assertThat(template.toolRendering()).isEqualTo("checkpoint");
    assertThat(ChatPrompt.render(template, wireChat()))
        .isEqualTo(JinjaChatTemplate.builder(TinyChatTemplate.QWEN25_TOOLS.source()).build()
            .render(asSent, List.of(TOOL)))
        .startsWith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n"
            + "# Tools\n\nYou may call one or more functions")
        .contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}"
            + "\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n-3\n</tool_response><|im_end|>\n");
  }

  @Test
  void render_fixedTemplate_givesTheFallbackTextTheToolTurnsMirror() {
    ChatTemplate chatml = ChatTemplates.named("chatml");
    List<ChatMessage> textOnly = wireChat().stream().map(m -> m.toBuilder().clearToolTurn().build()).toList();

    assertThat(ChatPrompt.render(chatml, wireChat())).isEqualTo(ChatPrompt.render(chatml, textOnly));
  }

  @Test
  void render_malformedToolTurn_isInvalidArgumentNamingIt() {
    ChatTemplate template = ChatTemplateChoice.of(Optional.of(TinyChatTemplate.QWEN25_TOOLS.source()), tokenizer);
    List<ChatMessage> badRole = List.of(ChatMessage.newBuilder().setRole("user").setContent("x")
        .setToolTurn(ToolTurn.newBuilder().setRole("function")).build());
    List<ChatMessage> badArguments = List.of(ChatMessage.newBuilder().setRole("user").setContent("x").build(),
        ChatMessage.newBuilder().setRole("assistant").setContent("<tool_call>").setToolTurn(ToolTurn.newBuilder()
            .setRole("assistant").addToolCalls(ToolCallPart.newBuilder().setName("f").setArguments("{"))).build());

    assertThatThrownBy(() -> ChatPrompt.render(template, badRole)).isInstanceOfSatisfying(CoreException.class, e -> {
      assertThat(e.kind()).isEqualTo(CoreException.Kind.INVALID_ARGUMENT);
      assertThat(e.getMessage()).contains("chat.messages[0].tool_turn").contains("got 'function'");
    });
    assertThatThrownBy(() -> ChatPrompt.render(template, badArguments)).isInstanceOf(CoreException.class)
        .hasMessageContaining("chat.messages").hasMessageContaining("a call's arguments is not JSON");
  }
}
