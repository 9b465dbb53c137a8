/**
 * Tokenizers built from GGUF metadata that give llama.cpp's token ids: byte-level BPE ({@code
 * gpt2} with the {@code gpt-2}, {@code llama3} and {@code qwen2} pre-tokenizers) and SentencePiece
 * ({@code llama}), special-token parsing, UTF-8-correct decoding and streaming decoding.
 *
 * <p>Entry point: {@link io.infermesh.models.tokenizer.Tokenizer#fromGguf}. The pre-tokenizers
 * are ports of llama.cpp's hand-written matchers and classify code points with llama.cpp's
 * Unicode 15.1 table rather than the JDK's, so results do not change with the JDK version.
 */
package io.infermesh.models.tokenizer;
