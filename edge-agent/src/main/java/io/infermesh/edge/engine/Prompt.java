package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The exact text the model reads (a rendered chat, or a raw prompt) and its length in tokens,
 * counted the way the engine will count it (beginning-of-sequence token included).
 *
 * @param text the prompt text
 * @param tokens its length in tokens; for a text the engine can tell is longer than its context
 *     without tokenizing it, a lower bound that is already over the context
 * @param chat the conversation {@code text} renders, for an engine that renders chats itself (an
 *     upstream server applies its model's own template); empty for a raw prompt
 */
public record Prompt(String text, int tokens, List<ChatMessage> chat) {
  public Prompt {
    requireNonNull(text, "text");
    chat = List.copyOf(requireNonNull(chat, "chat"));
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens must not be negative, got " + tokens);
    }
  }

  /** A prompt the engine reads as text. */
  public Prompt(String text, int tokens) {
    this(text, tokens, List.of());
  }
}
