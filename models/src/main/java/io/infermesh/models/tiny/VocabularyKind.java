package io.infermesh.models.tiny;

/**
 * The vocabulary a tiny model gets. All are learned deterministically from the same embedded
 * English corpus and carry the ChatML control tokens {@code <|im_start|>} and {@code <|im_end|>}.
 */
public enum VocabularyKind {
  /**
   * Byte-level BPE ({@code tokenizer.ggml.model = gpt2}, {@code pre = gpt-2}): 256 byte tokens,
   * 253 merges, {@code <|endoftext|>}, {@code <|im_start|>}, {@code <|im_end|>}; 512 tokens.
   */
  BPE,
  /**
   * SentencePiece ({@code tokenizer.ggml.model = llama}): {@code <unk>}, {@code <s>}, {@code
   * </s>}, 256 byte-fallback tokens {@code <0xNN>}, learned pieces with scores, and the ChatML
   * tokens; 512 tokens.
   */
  SPM,
  /**
   * {@link #BPE} padded with unused tokens to 151,936 entries, Qwen2's vocabulary size, so that
   * the embedding and output layers of a benchmark model cost what a real 0.5B model's do.
   */
  BPE_LARGE,
  /**
   * {@link #BPE} padded to 151,936 entries like {@link #BPE_LARGE}, but with ordinary tokens that
   * decode to text: pronounceable made-up words of two or three syllables, each after a space
   * ({@code Ġbaco}, ...). A random-weight model then streams words, not empty pieces, so benchmarks
   * count real text. The padding is never produced by tokenizing (it has no merges).
   */
  BPE_LARGE_WORDS,
  /**
   * {@link #BPE} padded to 32,000 entries, Llama 2's vocabulary size, with the words of {@link
   * #BPE_LARGE_WORDS}: for benchmarks of a ~200M-parameter Llama whose output must decode to text.
   */
  BPE_32K_WORDS
}
