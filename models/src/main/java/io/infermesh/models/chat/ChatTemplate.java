package io.infermesh.models.chat;

import java.util.List;

/**
 * Turns a chat into the prompt text a model was trained on, ending where the assistant's reply
 * begins. The beginning-of-sequence token is left to the tokenizer. Implementations are
 * stateless and thread-safe.
 */
public interface ChatTemplate {
  /** The short name, as in {@code model.chat_template} (e.g. {@code chatml}, {@code checkpoint}). */
  String name();

  /**
   * How a chat with tools is rendered: {@code checkpoint} (the checkpoint's own Jinja template
   * renders tools, calls and results) or {@code fallback} (the mesh's format, {@link
   * ToolCalls#fallback}, rendered as plain turns).
   */
  default String toolRendering() {
    return "fallback";
  }

  /** The prompt for {@code turns}, oldest first, followed by the assistant's header; no tools offered. */
  default String render(List<ChatTurn> turns) {
    return render(turns, List.of());
  }

  /**
   * The prompt for {@code turns} with {@code tools} offered: OpenAI tools ({@code
   * {"type":"function","function":{…}}}) as JSON text; empty for none.
   *
   * @throws io.infermesh.models.jinja.JinjaException when a checkpoint's template refuses the chat
   *     (its {@code raise_exception}) or fails on it
   */
  String render(List<ChatTurn> turns, List<String> tools);
}
