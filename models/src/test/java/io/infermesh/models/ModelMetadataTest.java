package io.infermesh.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.gguf.GgufValue;
import io.infermesh.models.tiny.TinyModelFixture;
import io.infermesh.models.tiny.TinyModelSpec;
import org.junit.jupiter.api.Test;

class ModelMetadataTest {
  static final GgufMetadata EDGE = TinyModelFixture.metadata(TinyModelSpec.edge(GgmlType.F32));

  @Test
  void from_tinyEdge_readsEveryField() {
    ModelMetadata m = ModelMetadata.from(EDGE);
    assertThat(m.architecture()).isEqualTo("llama");
    assertThat(m.name()).isEqualTo("infermesh-tiny-edge");
    assertThat(m.contextLength()).isEqualTo(512);
    assertThat(m.embeddingLength()).isEqualTo(64);
    assertThat(m.blockCount()).isEqualTo(2);
    assertThat(m.headCount()).isEqualTo(4);
    assertThat(m.headCountKv()).isEqualTo(2);
    assertThat(m.feedForwardLength()).isEqualTo(192);
    assertThat(m.ropeDimensionCount()).isEqualTo(16);
    assertThat(m.ropeFreqBase()).isEqualTo(10000f);
    assertThat(m.rmsNormEpsilon()).isEqualTo(1e-5f);
    assertThat(m.vocabularySize()).isEqualTo(512);
    assertThat(m.chatTemplate()).get().asString().contains("<|im_start|>");
    assertThat(m.bosTokenId()).hasValue(509);
    assertThat(m.eosTokenId()).hasValue(511);
    assertThat(m.headSize()).isEqualTo(16);
    assertThat(m.kvLength()).isEqualTo(32);
    assertThat(m.groupSize()).isEqualTo(2);
  }

  @Test
  void from_optionalKeysAbsent_usesLlamaCppDefaults() {
    GgufMetadata m = EDGE.toBuilder()
        .remove("llama.attention.head_count_kv")
        .remove("llama.rope.dimension_count")
        .remove("llama.rope.freq_base")
        .remove("llama.vocab_size")
        .remove("tokenizer.chat_template")
        .remove("general.name")
        .build();
    ModelMetadata meta = ModelMetadata.from(m);
    assertThat(meta.headCountKv()).isEqualTo(4);
    assertThat(meta.ropeDimensionCount()).isEqualTo(16);
    assertThat(meta.ropeFreqBase()).isEqualTo(10000f);
    assertThat(meta.vocabularySize()).isEqualTo(512);
    assertThat(meta.chatTemplate()).isEmpty();
    assertThat(meta.name()).isEqualTo("llama");
  }

  @Test
  void from_missingOrMistypedKey_namesIt() {
    assertThatThrownBy(() -> ModelMetadata.from(EDGE.toBuilder().remove("llama.block_count").build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("key llama.block_count missing");
    assertThatThrownBy(() -> ModelMetadata.from(EDGE.toBuilder().putString("llama.block_count", "two").build()))
        .hasMessage("key llama.block_count has type STRING, expected an integer");
    assertThatThrownBy(() -> ModelMetadata.from(EDGE.toBuilder().put("llama.attention.layer_norm_rms_epsilon", GgufValue.bool(true)).build()))
        .hasMessage("key llama.attention.layer_norm_rms_epsilon has type BOOL, expected FLOAT32");
    assertThatThrownBy(() -> ModelMetadata.from(GgufMetadata.empty()))
        .hasMessage("key general.architecture missing");
  }

  @Test
  void from_inconsistentValues_failNamingTheKeys() {
    assertThatThrownBy(() -> ModelMetadata.from(EDGE.toBuilder().putUInt32("llama.attention.head_count_kv", 3).build()))
        .hasMessage("llama.attention.head_count_kv = 3 does not divide llama.attention.head_count = 4");
    assertThatThrownBy(() -> ModelMetadata.from(EDGE.toBuilder().putUInt32("llama.vocab_size", 500).build()))
        .hasMessage("llama.vocab_size = 500 but tokenizer.ggml.tokens has 512 entries");
    assertThatThrownBy(() -> ModelMetadata.from(EDGE.toBuilder().putUInt32("llama.embedding_length", 0).build()))
        .hasMessageContaining("llama.embedding_length = 0");
    assertThatThrownBy(() -> ModelMetadata.from(EDGE.toBuilder().putUInt32("tokenizer.ggml.bos_token_id", 512).build()))
        .hasMessage("tokenizer.ggml.bos_token_id = 512 is outside the vocabulary of 512");
    assertThatThrownBy(() -> ModelMetadata.from(EDGE.toBuilder().putUInt32("llama.rope.dimension_count", 17).build()))
        .hasMessageContaining("llama.rope.dimension_count = 17 must be even");
  }
}
