package io.infermesh.models.tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Token texts, types and scores by id, and the reverse lookup. Texts are as stored in GGUF
 * (byte-level BPE texts spell bytes in GPT-2's alphabet, SentencePiece texts use {@code ▁} for
 * space); an empty text becomes {@code [EMPTY_<id>]}, as llama.cpp does.
 *
 * <p>Immutable after construction and thread-safe; {@link #setType} is for construction only.
 */
final class Vocabulary {
  private final String[] texts;
  private final TokenType[] types;
  private final float[] scores;
  private final Map<String, Integer> ids;

  Vocabulary(List<String> texts, TokenType[] types, float[] scores) {
    int n = texts.size();
    this.texts = new String[n];
    this.ids = new HashMap<>(n * 2);
    for (int i = 0; i < n; i++) {
      String t = texts.get(i);
      if (t.isEmpty()) {
        t = "[EMPTY_" + i + "]";
      }
      this.texts[i] = t;
      Integer previous = ids.put(t, i);
      if (previous != null) {
        throw new IllegalArgumentException(
            "key tokenizer.ggml.tokens has the text '" + t + "' twice, at ids " + previous + " and " + i);
      }
    }
    this.types = types;
    this.scores = scores;
  }

  int size() {
    return texts.length;
  }

  String text(int id) {
    return texts[id];
  }

  TokenType type(int id) {
    return types[id];
  }

  void setType(int id, TokenType type) {
    types[id] = type;
  }

  float score(int id) {
    return scores[id];
  }

  /** The id of the token with this exact text, or -1. */
  int id(String text) {
    Integer id = ids.get(text);
    return id == null ? -1 : id;
  }

  boolean contains(int id) {
    return id >= 0 && id < texts.length;
  }
}
