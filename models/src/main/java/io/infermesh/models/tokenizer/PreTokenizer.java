package io.infermesh.models.tokenizer;

/**
 * Splits text into the words BPE merges within, as one of llama.cpp's pre-tokenizer regexes
 * does. Implementations port llama.cpp's hand-written matchers ({@code unicode.cpp}) line by line,
 * because those, not the regexes they stand for, decide llama.cpp's token ids.
 *
 * <p>Implementations are stateless and thread-safe.
 */
interface PreTokenizer {
  /**
   * Splits code points {@code cpts[0, cpts.length)} into words.
   *
   * @return the length, in code points, of each word in order; they sum to {@code cpts.length}
   */
  TokenBuffer split(int[] cpts);
}
