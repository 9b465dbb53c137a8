package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.api.v1.ChatMessage;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.gguf.GgufValue;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tokenizer.TokenType;
import io.infermesh.models.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Chat rendering: ChatML for the tiny vocabulary, Llama 3 headers when the vocabulary has them. */
class ChatPromptTest {
  private static final List<ChatMessage> CHAT = List.of(
      ChatMessage.newBuilder().setRole("system").setContent("Be brief.").build(),
      ChatMessage.newBuilder().setRole("user").setContent("Hi").build());

  private static Tokenizer chatml;
  private static Tokenizer llama3;

  @BeforeAll
  static void load() throws Exception {
    Path file = TinyModels.write(TinyModelSpec.core(GgmlType.F32), Files.createTempDirectory("chat-prompt"));
    GgufMetadata m;
    try (GgufFile f = GgufFile.open(file)) {
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
    assertThat(ChatPrompt.render(CHAT, chatml)).isEqualTo(
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  }

  @Test
  void render_llama3Vocabulary_headerTurnsThatTokenizeToTheControlTokens() {
    String text = ChatPrompt.render(CHAT, llama3);
    assertThat(text).isEqualTo("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    int[] ids = llama3.encode(text, false, true);
    int header = llama3.tokenId("<|start_header_id|>").orElseThrow();
    assertThat(ids[0]).isEqualTo(header);
    assertThat(Arrays.stream(ids).filter(t -> t == header).count()).isEqualTo(3);
    assertThat(llama3.isEndOfGeneration(llama3.tokenId("<|eot_id|>").orElseThrow())).isTrue();
  }
}
