package io.infermesh.models;

import static java.util.Objects.requireNonNull;

import io.infermesh.models.gguf.GgufMetadata;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The hyperparameters of a decoder-only transformer, read from GGUF metadata the way llama.cpp
 * reads them: keys are prefixed with {@code general.architecture} ({@code llama.block_count}).
 *
 * @param architecture {@code general.architecture}, e.g. {@code llama}, {@code qwen2}
 * @param name {@code general.name}, or the architecture if absent
 * @param contextLength {@code <arch>.context_length}: positions trained on
 * @param embeddingLength {@code <arch>.embedding_length}: model width (n_embd)
 * @param blockCount {@code <arch>.block_count}: transformer layers
 * @param headCount {@code <arch>.attention.head_count}: query heads
 * @param headCountKv {@code <arch>.attention.head_count_kv}: key/value heads (GQA), default
 *     {@code headCount}
 * @param feedForwardLength {@code <arch>.feed_forward_length}: FFN hidden width
 * @param ropeDimensionCount {@code <arch>.rope.dimension_count}: rotated dimensions per head,
 *     default the head size
 * @param ropeFreqBase {@code <arch>.rope.freq_base}, default 10000
 * @param rmsNormEpsilon {@code <arch>.attention.layer_norm_rms_epsilon}
 * @param vocabularySize {@code <arch>.vocab_size}, else the length of {@code
 *     tokenizer.ggml.tokens}
 * @param chatTemplate {@code tokenizer.chat_template} (Jinja), if any
 * @param bosTokenId {@code tokenizer.ggml.bos_token_id}, if any
 * @param eosTokenId {@code tokenizer.ggml.eos_token_id}, if any
 */
public record ModelMetadata(
    String architecture,
    String name,
    int contextLength,
    int embeddingLength,
    int blockCount,
    int headCount,
    int headCountKv,
    int feedForwardLength,
    int ropeDimensionCount,
    float ropeFreqBase,
    float rmsNormEpsilon,
    int vocabularySize,
    Optional<String> chatTemplate,
    OptionalInt bosTokenId,
    OptionalInt eosTokenId) {

  /** Validates relations between the values; messages name the GGUF key. */
  public ModelMetadata {
    requireNonNull(architecture, "architecture");
    requireNonNull(name, "name");
    requireNonNull(chatTemplate, "chatTemplate");
    requireNonNull(bosTokenId, "bosTokenId");
    requireNonNull(eosTokenId, "eosTokenId");
    String a = architecture;
    positive(a + ".context_length", contextLength);
    positive(a + ".embedding_length", embeddingLength);
    positive(a + ".block_count", blockCount);
    positive(a + ".attention.head_count", headCount);
    positive(a + ".attention.head_count_kv", headCountKv);
    positive(a + ".feed_forward_length", feedForwardLength);
    positive(a + ".rope.dimension_count", ropeDimensionCount);
    positive(a + ".vocab_size", vocabularySize);
    if (embeddingLength % headCount != 0) {
      throw new IllegalArgumentException(
          a + ".embedding_length = " + embeddingLength + " is not a multiple of " + a + ".attention.head_count = " + headCount);
    }
    if (headCount % headCountKv != 0) {
      throw new IllegalArgumentException(
          a + ".attention.head_count_kv = " + headCountKv + " does not divide " + a + ".attention.head_count = " + headCount);
    }
    if (ropeDimensionCount > embeddingLength / headCount || ropeDimensionCount % 2 != 0) {
      throw new IllegalArgumentException(
          a + ".rope.dimension_count = " + ropeDimensionCount + " must be even and at most the head size " + embeddingLength / headCount);
    }
    if (!(ropeFreqBase > 0) || Float.isInfinite(ropeFreqBase)) {
      throw new IllegalArgumentException(a + ".rope.freq_base = " + ropeFreqBase + " must be positive and finite");
    }
    if (!(rmsNormEpsilon > 0) || rmsNormEpsilon >= 1) {
      throw new IllegalArgumentException(
          a + ".attention.layer_norm_rms_epsilon = " + rmsNormEpsilon + " must be in (0, 1)");
    }
    checkTokenId("tokenizer.ggml.bos_token_id", bosTokenId, vocabularySize);
    checkTokenId("tokenizer.ggml.eos_token_id", eosTokenId, vocabularySize);
  }

  /**
   * Reads the hyperparameters from GGUF metadata.
   *
   * @throws IllegalArgumentException naming the key that is missing, has the wrong type or an
   *     invalid value
   */
  public static ModelMetadata from(GgufMetadata m) {
    String arch = m.getString("general.architecture");
    int embedding = m.getInt(arch + ".embedding_length");
    int heads = m.getInt(arch + ".attention.head_count");
    int headsKv = m.findInt(arch + ".attention.head_count_kv").orElse(heads);
    int ropeDims = m.findInt(arch + ".rope.dimension_count").orElse(heads > 0 ? embedding / heads : 0);
    OptionalInt vocabKey = m.findInt(arch + ".vocab_size");
    int vocab;
    if (m.contains("tokenizer.ggml.tokens")) {
      int tokens = m.getStringArray("tokenizer.ggml.tokens").size();
      if (vocabKey.isPresent() && vocabKey.getAsInt() != tokens) {
        throw new IllegalArgumentException(
            arch + ".vocab_size = " + vocabKey.getAsInt() + " but tokenizer.ggml.tokens has " + tokens + " entries");
      }
      vocab = tokens;
    } else if (vocabKey.isPresent()) {
      vocab = vocabKey.getAsInt();
    } else {
      throw new IllegalArgumentException("key " + arch + ".vocab_size missing (and no tokenizer.ggml.tokens)");
    }
    return new ModelMetadata(
        arch,
        m.findString("general.name").orElse(arch),
        m.getInt(arch + ".context_length"),
        embedding,
        m.getInt(arch + ".block_count"),
        heads,
        headsKv,
        m.getInt(arch + ".feed_forward_length"),
        ropeDims,
        m.findFloat(arch + ".rope.freq_base").orElse(10000f),
        m.getFloat(arch + ".attention.layer_norm_rms_epsilon"),
        vocab,
        m.findString("tokenizer.chat_template"),
        m.findInt("tokenizer.ggml.bos_token_id"),
        m.findInt("tokenizer.ggml.eos_token_id"));
  }

  /** Size of one attention head: {@code embeddingLength / headCount}. */
  public int headSize() {
    return embeddingLength / headCount;
  }

  /** Width of the key and value projections: {@code headCountKv * headSize()}. */
  public int kvLength() {
    return headCountKv * headSize();
  }

  /** Query heads sharing one key/value head. */
  public int groupSize() {
    return headCount / headCountKv;
  }

  private static void positive(String key, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(key + " = " + value + " must be positive");
    }
  }

  private static void checkTokenId(String key, OptionalInt id, int vocabularySize) {
    if (id.isPresent() && (id.getAsInt() < 0 || id.getAsInt() >= vocabularySize)) {
      throw new IllegalArgumentException(key + " = " + id.getAsInt() + " is outside the vocabulary of " + vocabularySize);
    }
  }
}
