package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

/**
 * One chat turn.
 *
 * @param role who speaks
 * @param content the text of the turn
 * @param name an optional speaker name; empty when none
 */
public record ChatMessage(Role role, String content, String name) {
  public ChatMessage {
    requireNonNull(role, "role");
    requireNonNull(content, "content");
    name = name == null ? "" : name;
  }

  public static ChatMessage of(Role role, String content) {
    return new ChatMessage(role, content, "");
  }
}
