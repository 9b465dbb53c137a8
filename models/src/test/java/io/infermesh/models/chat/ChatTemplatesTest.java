package io.infermesh.models.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.models.jinja.JinjaException;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ChatTemplatesTest {
  private static final List<ChatTurn> CHAT = List.of(
      ChatTurn.system("Be brief."),
      ChatTurn.user("Hi"),
      ChatTurn.assistant("Hello."),
      ChatTurn.user("Bye"));

  @Test
  void chatml_rendersTurnsAndTheAssistantHeader() {
    assertThat(ChatTemplates.named("chatml").render(CHAT)).isEqualTo("""
        <|im_start|>system
        Be brief.<|im_end|>
        <|im_start|>user
        Hi<|im_end|>
        <|im_start|>assistant
        Hello.<|im_end|>
        <|im_start|>user
        Bye<|im_end|>
        <|im_start|>assistant
        """);
  }

  @Test
  void llama3_rendersHeaderTokens() {
    assertThat(ChatTemplates.named("llama3").render(List.of(ChatTurn.user(" Hi ")))).isEqualTo(
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  }

  @Test
  void llama2_foldsTheSystemTurnIntoTheFirstUserTurn() {
    assertThat(ChatTemplates.named("llama2").render(CHAT)).isEqualTo(
        "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]");
  }

  @Test
  void gemma_namesTheAssistantModel() {
    assertThat(ChatTemplates.named("gemma").render(CHAT)).isEqualTo(
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
            + "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
  }

  @Test
  void phi3_usesRoleTags() {
    assertThat(ChatTemplates.named("phi3").render(List.of(ChatTurn.user("Hi"))))
        .isEqualTo("<|user|>\nHi<|end|>\n<|assistant|>\n");
  }

  @Test
  void detect_knownJinjaMarkers_pickTheFamily() {
    assertThat(ChatTemplates.detect("{% for m in messages %}<|im_start|>{{ m.role }}").map(ChatTemplate::name))
        .contains("chatml");
    assertThat(ChatTemplates.detect("{{ '<|start_header_id|>' + m['role'] }}").map(ChatTemplate::name))
        .contains("llama3");
    assertThat(ChatTemplates.detect("{{ '<start_of_turn>' + role }}").map(ChatTemplate::name)).contains("gemma");
    assertThat(ChatTemplates.detect("{{'<|assistant|>'}}{{'<|end|>'}}").map(ChatTemplate::name)).contains("phi3");
    assertThat(ChatTemplates.detect("{{ '[INST] ' + content }}").map(ChatTemplate::name)).contains("llama2");
  }

  @Test
  void choose_unknownOrMissingTemplate_fallsBackToChatml() {
    assertThat(ChatTemplates.choose("auto", Optional.of("{{ something new }}")).name()).isEqualTo("chatml");
    assertThat(ChatTemplates.choose("auto", Optional.empty())).isSameAs(ChatTemplates.FALLBACK);
  }

  @Test
  void choose_configuredName_winsOverMetadata() {
    assertThat(ChatTemplates.choose("gemma", Optional.of("<|im_start|>")).name()).isEqualTo("gemma");
    assertThatThrownBy(() -> ChatTemplates.named("jinja")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void chatTurn_unknownRoleOrMisplacedToolParts_isRefused() {
    assertThatThrownBy(() -> new ChatTurn("function", "x")).hasMessageContaining("got 'function'");
    assertThatThrownBy(() -> new ChatTurn("user", "x", List.of(new ToolCalls.Call("f", "{}")), ""))
        .hasMessage("only an assistant turn makes tool calls, not a user turn");
    assertThatThrownBy(() -> new ChatTurn("user", "x", List.of(), "call_1"))
        .hasMessage("only a tool turn answers a tool call, not a user turn");
  }

  @Test
  void render_fixedTemplateWithTools_rendersTheFallbackFormAsPlainTurns() {
    List<ChatTurn> chat = List.of(ChatTurn.user("Weather?"),
        ChatTurn.assistant("", List.of(new ToolCalls.Call("w", "{\"c\":1}", "call_9"))), ChatTurn.tool("call_9", "21"));
    String tool = "{\"type\":\"function\",\"function\":{\"name\":\"w\"}}";

    assertThat(ChatTemplates.named("chatml").render(chat, List.of(tool))).isEqualTo("<|im_start|>system\n"
        + ToolCalls.systemWithTools("", List.of(tool)) + "<|im_end|>\n<|im_start|>user\nWeather?<|im_end|>\n"
        + "<|im_start|>assistant\n<tool_call>\n{\"name\":\"w\",\"arguments\":{\"c\":1}}\n</tool_call><|im_end|>\n"
        + "<|im_start|>user\n<tool_response>\n21\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
  }

  @Test
  void choose_autoWithAHermesToolTemplate_rendersToolChatsWithTheCheckpoints() {
    ChatTemplate t = ChatTemplates.choose("auto", Optional.of(source("qwen2.5-instruct")), "", "<|im_end|>");
    List<ChatTurn> chat = List.of(ChatTurn.user("Hi"));
    String tool = "{\"type\": \"function\", \"function\": {\"name\": \"w\"}}";

    assertThat(t.name()).isEqualTo("chatml");
    assertThat(t.toolRendering()).isEqualTo("checkpoint");
    assertThat(t.render(chat)).isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    assertThat(t.render(chat, List.of(tool))).startsWith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud."
        + " You are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions").contains(
        "<tools>\n" + tool + "\n</tools>");
  }

  @Test
  void choose_autoWithAnotherToolFormat_keepsTheFixedFamilyAndTheFallback() {
    ChatTemplate t = ChatTemplates.choose("auto", Optional.of(source("llama-3.1-instruct")), "<|begin_of_text|>",
        "<|eot_id|>");

    assertThat(t.name()).isEqualTo("llama3");
    assertThat(t.toolRendering()).isEqualTo("fallback");
  }

  @Test
  void choose_autoWithXmlCallsInsideToolCallBlocks_keepsTheFallback() {
    String qwen3Coder = "{% for tool in tools %}{{ tool.function.name }}{% endfor %}<|im_start|>"
        + "{{ '<tool_call>\\n<function=' + tool_call.name + '>\\n' }}{{ tool_call.arguments }}";

    assertThat(ChatTemplates.choose("auto", Optional.of(qwen3Coder), "", "").toolRendering()).isEqualTo("fallback");
  }

  @Test
  void choose_checkpoint_runsTheSourceForEveryChatAndNeedsOne() {
    ChatTemplate t = ChatTemplates.choose("checkpoint", Optional.of(source("qwen2.5-instruct")), "", "<|im_end|>");

    assertThat(t.name()).isEqualTo("checkpoint");
    assertThat(t.render(List.of(ChatTurn.user("Hi")))).startsWith("<|im_start|>system\nYou are Qwen");
    assertThatThrownBy(() -> ChatTemplates.choose("checkpoint", Optional.empty(), "", ""))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no chat template of its own");
    assertThatThrownBy(() -> ChatTemplates.choose("checkpoint", Optional.of("{% include 'x' %}"), "", ""))
        .isInstanceOf(JinjaException.class);
  }

  @Test
  void choose_autoWithATemplateThisEngineCannotRun_fallsBackToTheFixedFamily() {
    ChatTemplate t = ChatTemplates.choose("auto", Optional.of("{% include 'tools' %}<tool_call><|im_start|>"), "", "");

    assertThat(t.name()).isEqualTo("chatml");
    assertThat(t.toolRendering()).isEqualTo("fallback");
  }

  private static String source(String name) {
    return JinjaChatTemplateTest.source(name);
  }
}
