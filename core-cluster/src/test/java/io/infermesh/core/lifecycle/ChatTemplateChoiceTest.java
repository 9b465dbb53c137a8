package io.infermesh.core.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.models.chat.ChatTemplate;
import io.infermesh.models.chat.ChatTurn;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.gguf.GgufValue;
import io.infermesh.models.tiny.TinyChatTemplate;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tokenizer.TokenType;
import io.infermesh.models.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The core's choice of chat template: the model's own Jinja template when it names a known family,
 * else ChatML for the tiny vocabulary and Llama 3 headers when the vocabulary has them.
 */
class ChatTemplateChoiceTest {
  private static final List<ChatTurn> CHAT = List.of(ChatTurn.system("Be brief."), ChatTurn.user("Hi"));

  private static Path tinyModel;
  private static Tokenizer chatml;
  private static Tokenizer llama3;

  @BeforeAll
  static void load() throws Exception {
    tinyModel = TinyModels.write(TinyModelSpec.core(GgmlType.F32), Files.createTempDirectory("chat-prompt"));
    GgufMetadata m;
    try (GgufFile f = GgufFile.open(tinyModel)) {
      m = f.metadata();
    }
    chatml = Tokenizer.fromGguf(m);
    List<String> tokens = new ArrayList<>(m.getStringArray("tokenizer.ggml.tokens"));
    int base = tokens.size();
    tokens.addAll(List.of("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"));
    int[] types = Arrays.copyOf(m.getIntArray("tokenizer.ggml.token_type"), tokens.size());
    Arrays.fill(types, base, tokens.size(), TokenType.CONTROL.id());
    llama3 = Tokenizer.fromGguf(m.toBuilder()
        .put("tokenizer.ggml.tokens", GgufValue.stringArray(tokens))
        .put("tokenizer.ggml.token_type", GgufValue.int32Array(types))
        .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(base + 3))
        .build());
  }

  @Test
  void render_chatmlVocabulary_imStartTurnsAndOpenAssistantTurn() {
    assertThat(ChatTemplateChoice.of(Optional.empty(), chatml).render(CHAT)).isEqualTo(
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  }

  @Test
  void render_llama3Vocabulary_headerTurnsThatTokenizeToTheControlTokens() {
    String text = ChatTemplateChoice.of(Optional.empty(), llama3).render(CHAT);
    assertThat(text).isEqualTo("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    int[] ids = llama3.encode(text, false, true);
    int header = llama3.tokenId("<|start_header_id|>").orElseThrow();
    assertThat(ids[0]).isEqualTo(header);
    assertThat(Arrays.stream(ids).filter(t -> t == header).count()).isEqualTo(3);
    assertThat(llama3.isEndOfGeneration(llama3.tokenId("<|eot_id|>").orElseThrow())).isTrue();
  }

  @Test
  void of_modelShipsQwensToolTemplate_plainChatsFixedToolChatsItsOwn() {
    ChatTemplate qwen = ChatTemplateChoice.of(Optional.of(TinyChatTemplate.QWEN25_TOOLS.source()), chatml);

    assertThat(qwen.name()).isEqualTo("chatml");
    assertThat(qwen.toolRendering()).isEqualTo("checkpoint");
    assertThat(qwen.render(CHAT)).isEqualTo(ChatTemplateChoice.of(Optional.empty(), chatml).render(CHAT));
    assertThat(ChatTemplateChoice.of(Optional.of("{{ '<|start_header_id|>' }}{{ tools }}"), llama3).toolRendering())
        .isEqualTo("fallback");
  }

  @Test
  void of_modelShipsAGemmaTemplate_winsOverTheVocabulary() {
    String jinja = "{% for message in messages %}{{ '<start_of_turn>' + role + '\\n' }}{% endfor %}";

    assertThat(ChatTemplateChoice.of(Optional.of(jinja), llama3).name()).isEqualTo("gemma");
    assertThat(ChatTemplateChoice.of(Optional.of("{{ unknown }}"), llama3).name()).isEqualTo("llama3");
  }

  @Test
  void chatTemplateSource_tinyGguf_isItsChatmlJinja() throws Exception {
    try (Checkpoint cp = Checkpoint.open(tinyModel, "")) {
      assertThat(cp.chatTemplateSource()).hasValueSatisfying(t -> assertThat(t).contains("<|im_start|>"));
    }
  }

  @Test
  void hfChatTemplate_stringListOrMissing(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("tokenizer_config.json");
    assertThat(Checkpoint.hfChatTemplate(config)).isEmpty();

    Files.writeString(config, "{\"chat_template\": \"{{ '[INST] ' }}\"}");
    assertThat(Checkpoint.hfChatTemplate(config)).contains("{{ '[INST] ' }}");

    Files.writeString(config, "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"},"
        + " {\"name\": \"default\", \"template\": \"<start_of_turn>\"}]}");
    assertThat(Checkpoint.hfChatTemplate(config)).contains("<start_of_turn>");

    Files.writeString(config, "{\"chat_template\": ");
    assertThatThrownBy(() -> Checkpoint.hfChatTemplate(config)).hasMessageContaining("not valid JSON");
  }
}
