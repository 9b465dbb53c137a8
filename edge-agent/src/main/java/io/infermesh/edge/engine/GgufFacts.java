package io.infermesh.edge.engine;

import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufMetadata;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The few GGUF metadata values the engine needs besides what llama.cpp reads itself.
 *
 * @param chatTemplate {@code tokenizer.chat_template}, when present
 * @param addBos whether the tokenizer prepends a beginning-of-sequence token (as llama.cpp
 *     decides it: the {@code tokenizer.ggml.add_bos_token} key, else the tokenizer's default)
 * @param maxTokenBytes an upper bound on the input bytes one token covers: the longest entry of
 *     {@code tokenizer.ggml.tokens} in UTF-8 (a token's stored text is never shorter than the
 *     bytes it stands for: byte-level BPE stores one char per byte, SentencePiece stores the
 *     space as the 3-byte {@code ▁} and raw bytes as {@code <0xNN>}); 0 when the vocabulary is
 *     not in the file
 * @param vocabSize tokens in the vocabulary ({@code tokenizer.ggml.tokens}), 0 when the file does not say
 * @param bosToken the beginning-of-sequence token's text (a chat template's {@code bos_token}); empty when unknown
 * @param eosToken the end-of-sequence token's text ({@code eos_token}); empty when unknown
 */
record GgufFacts(Optional<String> chatTemplate, boolean addBos, int maxTokenBytes, int vocabSize, String bosToken,
    String eosToken) {
  /** BPE pre-tokenizers for which llama.cpp adds a BOS token by default. */
  private static final Set<String> BPE_WITH_BOS = Set.of("llama3", "llama-v3", "llama-bpe", "falcon3", "tekken");

  static GgufFacts read(Path path) throws IOException {
    try (GgufFile file = GgufFile.open(path)) {
      return of(file.metadata());
    }
  }

  static GgufFacts of(GgufMetadata metadata) {
    Optional<String> template = metadata.findString("tokenizer.chat_template").filter(t -> !t.isBlank());
    boolean addBos = metadata.findBoolean("tokenizer.ggml.add_bos_token").orElseGet(() -> {
      String model = metadata.findString("tokenizer.ggml.model").orElse("llama");
      if ("llama".equals(model)) {
        return true;
      }
      return "gpt2".equals(model) && BPE_WITH_BOS.contains(metadata.findString("tokenizer.ggml.pre").orElse(""));
    });
    int maxTokenBytes = 0;
    List<String> tokens = metadata.contains("tokenizer.ggml.tokens") ? metadata.getStringArray("tokenizer.ggml.tokens")
        : List.of();
    for (String token : tokens) {
      maxTokenBytes = Math.max(maxTokenBytes, token.getBytes(StandardCharsets.UTF_8).length);
    }
    return new GgufFacts(template, addBos, maxTokenBytes, tokens.size(),
        tokenText(metadata, "tokenizer.ggml.bos_token_id", tokens), tokenText(metadata, "tokenizer.ggml.eos_token_id",
        tokens));
  }

  /** The text of the token whose id is at {@code key}; empty when the key or the token is missing. */
  private static String tokenText(GgufMetadata metadata, String key, List<String> tokens) {
    OptionalInt id = metadata.findInt(key);
    return id.isPresent() && id.getAsInt() >= 0 && id.getAsInt() < tokens.size() ? tokens.get(id.getAsInt()) : "";
  }
}
