package io.infermesh.models.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
  void chatTurn_unknownRole_isRefused() {
    assertThatThrownBy(() -> new ChatTurn("tool", "x")).hasMessageContaining("got 'tool'");
  }
}
