package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

/**
 * The exact text the model reads (a rendered chat, or a raw prompt) and its length in tokens,
 * counted the way the engine will count it (beginning-of-sequence token included).
 *
 * @param text the prompt text
 * @param tokens its length in tokens; for a text the engine can tell is longer than its context
 *     without tokenizing it, a lower bound that is already over the context
 */
public record Prompt(String text, int tokens) {
  public Prompt {
    requireNonNull(text, "text");
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens must not be negative, got " + tokens);
    }
  }
}
