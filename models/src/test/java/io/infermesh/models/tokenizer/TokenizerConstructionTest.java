package io.infermesh.models.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.gguf.GgufValue;
import io.infermesh.models.tiny.TinyModelFixture;
import io.infermesh.models.tiny.TinyModelSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenizerConstructionTest {
  static final GgufMetadata BPE = TinyModelFixture.metadata(TinyModelSpec.edge(GgmlType.F32));

  @Test
  void fromGguf_unsupportedModelOrPreTokenizer_namesKeyAndValue() {
    assertThatThrownBy(() -> Tokenizer.fromGguf(BPE.toBuilder().putString("tokenizer.ggml.model", "t5").build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("key tokenizer.ggml.model is 't5'; supported: gpt2 (byte-level BPE), llama (SentencePiece)");
    assertThatThrownBy(() -> Tokenizer.fromGguf(BPE.toBuilder().putString("tokenizer.ggml.pre", "deepseek-coder").build()))
        .hasMessageStartingWith("key tokenizer.ggml.pre is 'deepseek-coder', which is not supported");
    assertThatThrownBy(() -> Tokenizer.fromGguf(BPE.toBuilder().remove("tokenizer.ggml.pre").build()))
        .hasMessageStartingWith("key tokenizer.ggml.pre missing");
  }

  @Test
  void fromGguf_missingOrInconsistentArrays_failNamingTheKey() {
    assertThatThrownBy(() -> Tokenizer.fromGguf(BPE.toBuilder().remove("tokenizer.ggml.merges").build()))
        .hasMessage("key tokenizer.ggml.merges missing");
    assertThatThrownBy(() -> Tokenizer.fromGguf(BPE.toBuilder().put("tokenizer.ggml.token_type", GgufValue.int32Array(new int[] {1})).build()))
        .hasMessage("key tokenizer.ggml.token_type has 1 entries, but tokenizer.ggml.tokens has 512");
    assertThatThrownBy(() -> Tokenizer.fromGguf(BPE.toBuilder().put("tokenizer.ggml.tokens", GgufValue.stringArray(List.of("a", "b", "a"))).remove("tokenizer.ggml.token_type").build()))
        .hasMessageContaining("has the text 'a' twice, at ids 0 and 2");
  }

  @Test
  void fromGguf_outOfRangeSpecialId_isIgnoredLikeLlamaCpp() {
    Tokenizer t = Tokenizer.fromGguf(BPE.toBuilder().putUInt32("tokenizer.ggml.padding_token_id", 10_000).build());
    assertThat(t.specialTokens().pad()).isEmpty();
  }

  @Test
  void fromGguf_eogTextsWithoutControlType_becomeControlTokens() {
    int[] types = BPE.getIntArray("tokenizer.ggml.token_type");
    int imEnd = 511;
    types[imEnd] = TokenType.NORMAL.id();
    Tokenizer t = Tokenizer.fromGguf(BPE.toBuilder()
        .put("tokenizer.ggml.token_type", GgufValue.int32Array(types))
        .remove("tokenizer.ggml.eot_token_id")
        .build());
    assertThat(t.tokenType(imEnd)).isEqualTo(TokenType.CONTROL);
    assertThat(t.specialTokens().eot()).hasValue(509); // <|endoftext|> has the lowest id of the EOT texts
    assertThat(t.isEndOfGeneration(imEnd)).isTrue();
  }

  @Test
  void encode_loneSurrogate_isEncodedAsQuestionMarkLikeUtf8() {
    Tokenizer t = Tokenizer.fromGguf(BPE);
    assertThat(t.encode("a\uD800b")).isEqualTo(t.encode("a?b"));
  }
}
