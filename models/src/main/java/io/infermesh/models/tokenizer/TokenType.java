package io.infermesh.models.tokenizer;

/**
 * The token types GGUF stores in {@code tokenizer.ggml.token_type} ({@code llama_token_type}),
 * with their ids.
 *
 * <p>They decide how a token is tokenized and rendered: {@link #CONTROL} and {@link #UNKNOWN}
 * tokens are matched in text only when special tokens are parsed and render as nothing unless
 * asked; {@link #USER_DEFINED} tokens are always matched and always rendered; {@link #BYTE}
 * tokens ({@code <0x0A>}) are SentencePiece's byte fallback.
 */
public enum TokenType {
  UNDEFINED(0),
  NORMAL(1),
  UNKNOWN(2),
  CONTROL(3),
  USER_DEFINED(4),
  UNUSED(5),
  BYTE(6);

  private final int id;

  TokenType(int id) {
    this.id = id;
  }

  /** The id stored in GGUF. */
  public int id() {
    return id;
  }

  /** The type with the given id; llama.cpp reads unknown ids as {@link #UNDEFINED}, and so do we. */
  public static TokenType fromId(int id) {
    for (TokenType t : values()) {
      if (t.id == id) {
        return t;
      }
    }
    return UNDEFINED;
  }

  /** Whether text matching this token is split out before tokenizing the rest. */
  boolean isSpecial() {
    return this == CONTROL || this == USER_DEFINED || this == UNKNOWN;
  }
}
