package io.infermesh.edge.engine;

import java.util.Locale;

/** Why generation ended. */
public enum FinishReason {
  /** An end-of-sequence token or a stop string. */
  STOP,
  /** {@code max_tokens} was reached, or the context is full. */
  LENGTH;

  /** The OpenAI word: {@code stop} or {@code length}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
