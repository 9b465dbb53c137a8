package io.infermesh.models.chat;

import java.util.List;

/**
 * Turns a chat into the prompt text a model was trained on, ending where the assistant's reply
 * begins. The beginning-of-sequence token is left to the tokenizer. Implementations are
 * stateless and thread-safe.
 */
public interface ChatTemplate {
  /** The short name, as in {@code model.chat_template} (e.g. {@code chatml}). */
  String name();

  /** The prompt for {@code turns}, oldest first, followed by the assistant's header. */
  String render(List<ChatTurn> turns);
}
