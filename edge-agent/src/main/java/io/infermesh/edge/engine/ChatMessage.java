package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * One chat turn.
 *
 * <p>A turn that involves tools has two forms. {@code content} holds it in the mesh's fallback
 * form ({@link io.infermesh.models.chat.ToolCalls#fallback}: the tool list in the system turn, calls
 * as {@code <tool_call>} blocks, a result as a user turn), which is what limits, the cache key,
 * routing and the core read, and what a template without tool support renders; {@code toolForm}
 * holds it as the client sent it, for a checkpoint's own template that renders tools.
 *
 * @param role who speaks (in the fallback form: a tool result is a user turn)
 * @param content the text of the turn
 * @param name an optional speaker name; empty when none
 * @param toolForm the turn as sent, when it involves tools
 */
public record ChatMessage(Role role, String content, String name, Optional<ToolForm> toolForm) {
  public ChatMessage {
    requireNonNull(role, "role");
    requireNonNull(content, "content");
    name = name == null ? "" : name;
    requireNonNull(toolForm, "toolForm");
  }

  /** A turn without tool parts. */
  public ChatMessage(Role role, String content, String name) {
    this(role, content, name, Optional.empty());
  }

  public static ChatMessage of(Role role, String content) {
    return new ChatMessage(role, content, "");
  }
}
