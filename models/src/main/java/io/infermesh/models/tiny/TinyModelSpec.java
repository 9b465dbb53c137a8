package io.infermesh.models.tiny;

import static java.util.Objects.requireNonNull;

import io.infermesh.models.gguf.GgmlType;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The shape of a deterministic tiny Llama-architecture model: the same spec always gives the same
 * file, byte for byte.
 *
 * @param name short name used in the file name, e.g. {@code edge}
 * @param vocabulary which vocabulary the model gets
 * @param embeddingLength model width (n_embd)
 * @param blockCount transformer layers
 * @param headCount query heads
 * @param headCountKv key/value heads (fewer than {@code headCount} for GQA)
 * @param feedForwardLength FFN hidden width
 * @param contextLength trained context length written to the file
 * @param weightType type of the 2-D weights (norms stay F32): F32, F16, Q8_0 or Q4_0
 * @param seed seed of the weights
 * @param chatTemplate the chat template written into the file
 */
public record TinyModelSpec(
    String name,
    VocabularyKind vocabulary,
    int embeddingLength,
    int blockCount,
    int headCount,
    int headCountKv,
    int feedForwardLength,
    int contextLength,
    GgmlType weightType,
    long seed,
    TinyChatTemplate chatTemplate) {

  /** Weight types tiny models can be written in. */
  public static final Set<GgmlType> WEIGHT_TYPES = Set.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0);

  private static final Pattern NAME = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");
  private static final long SEED = 0x1AFE_2025_0000_0001L;

  /** Fails fast, naming the parameter, on a shape llama.cpp could not load. */
  public TinyModelSpec {
    requireNonNull(name, "name");
    requireNonNull(vocabulary, "vocabulary");
    requireNonNull(weightType, "weightType");
    requireNonNull(chatTemplate, "chatTemplate");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("name must be lower-case letters, digits and single dashes, got '" + name + "'");
    }
    positive("embeddingLength", embeddingLength);
    positive("blockCount", blockCount);
    positive("headCount", headCount);
    positive("headCountKv", headCountKv);
    positive("feedForwardLength", feedForwardLength);
    positive("contextLength", contextLength);
    if (!WEIGHT_TYPES.contains(weightType)) {
      throw new IllegalArgumentException("weightType must be one of F32, F16, Q8_0, Q4_0, got " + weightType);
    }
    if (embeddingLength % headCount != 0) {
      throw new IllegalArgumentException(
          "embeddingLength " + embeddingLength + " must be a multiple of headCount " + headCount);
    }
    if ((embeddingLength / headCount) % 2 != 0) {
      throw new IllegalArgumentException("the head size embeddingLength / headCount must be even for RoPE");
    }
    if (headCount % headCountKv != 0) {
      throw new IllegalArgumentException("headCountKv " + headCountKv + " must divide headCount " + headCount);
    }
    int block = weightType.blockSize();
    if (embeddingLength % block != 0 || feedForwardLength % block != 0) {
      throw new IllegalArgumentException(
          weightType + " needs embeddingLength and feedForwardLength to be multiples of " + block);
    }
  }

  /** A model with the ChatML template. */
  public TinyModelSpec(String name, VocabularyKind vocabulary, int embeddingLength, int blockCount, int headCount,
      int headCountKv, int feedForwardLength, int contextLength, GgmlType weightType, long seed) {
    this(name, vocabulary, embeddingLength, blockCount, headCount, headCountKv, feedForwardLength, contextLength,
        weightType, seed, TinyChatTemplate.CHATML);
  }

  /** The edge tier's model: 64 wide, 2 layers, 4 query / 2 key-value heads, context 512, BPE. */
  public static TinyModelSpec edge(GgmlType type) {
    return new TinyModelSpec("edge", VocabularyKind.BPE, 64, 2, 4, 2, 192, 512, type, SEED);
  }

  /**
   * The edge model (same shape and weights) carrying Qwen2.5-Instruct's tool-aware chat template
   * ({@link TinyChatTemplate#QWEN25_TOOLS}).
   */
  public static TinyModelSpec edgeTools(GgmlType type) {
    return new TinyModelSpec("edge-tools", VocabularyKind.BPE, 64, 2, 4, 2, 192, 512, type, SEED,
        TinyChatTemplate.QWEN25_TOOLS);
  }

  /** The core tier's model: 128 wide, 4 layers, 8 query / 2 key-value heads, context 1024, BPE. */
  public static TinyModelSpec core(GgmlType type) {
    return new TinyModelSpec("core", VocabularyKind.BPE, 128, 4, 8, 2, 384, 1024, type, SEED + 1);
  }

  /** The edge shape with a SentencePiece vocabulary, to exercise the {@code llama} tokenizer. */
  public static TinyModelSpec spm(GgmlType type) {
    return new TinyModelSpec("spm", VocabularyKind.SPM, 64, 2, 4, 2, 192, 512, type, SEED + 2);
  }

  /**
   * Qwen2.5-0.5B's shape with random weights, for benchmarks only: 896 wide, 24 layers, 14 query
   * / 2 key-value heads, FFN 4864, context 2048, a 151,936-token vocabulary (about 350 MB at
   * Q4_0).
   */
  public static TinyModelSpec halfBillionShape(GgmlType type) {
    return new TinyModelSpec("half-billion", VocabularyKind.BPE_LARGE, 896, 24, 14, 2, 4864, 2048, type, SEED + 3);
  }

  /**
   * {@link #halfBillionShape}'s shape and weights with a vocabulary of words ({@link
   * VocabularyKind#BPE_LARGE_WORDS}), for benchmarks that stream text: nearly every token the
   * random weights pick decodes to a word, where {@link #halfBillionShape}'s decode to nothing.
   */
  public static TinyModelSpec halfBillionWords(GgmlType type) {
    return new TinyModelSpec("half-billion-words", VocabularyKind.BPE_LARGE_WORDS, 896, 24, 14, 2, 4864, 2048, type,
        SEED + 3);
  }

  /** {@code tiny-<name>-<type>.gguf}, e.g. {@code tiny-edge-q8_0.gguf}. */
  public String fileName() {
    return "tiny-" + name + "-" + weightType.lowerCaseName() + ".gguf";
  }

  /** Size of one attention head. */
  public int headSize() {
    return embeddingLength / headCount;
  }

  private static void positive(String what, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(what + " must be positive, got " + value);
    }
  }
}
