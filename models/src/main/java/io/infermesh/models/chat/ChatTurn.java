package io.infermesh.models.chat;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Set;

/**
 * One turn of a chat as a template sees it, in OpenAI's form.
 *
 * @param role {@code system}, {@code user}, {@code assistant} or {@code tool}
 * @param content the text, as sent (may be empty for an assistant turn that calls tools)
 * @param toolCalls the calls an assistant turn made; empty for other roles
 * @param toolCallId for a {@code tool} turn, the id of the call it answers (may be empty); empty otherwise
 */
public record ChatTurn(String role, String content, List<ToolCalls.Call> toolCalls, String toolCallId) {
  private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");

  public ChatTurn {
    requireNonNull(role, "role");
    requireNonNull(content, "content");
    toolCalls = List.copyOf(requireNonNull(toolCalls, "toolCalls"));
    requireNonNull(toolCallId, "toolCallId");
    if (!ROLES.contains(role)) {
      throw new IllegalArgumentException("role must be system, user, assistant or tool, got '" + role + "'");
    }
    if (!toolCalls.isEmpty() && !role.equals("assistant")) {
      throw new IllegalArgumentException("only an assistant turn makes tool calls, not a " + role + " turn");
    }
    if (!toolCallId.isEmpty() && !role.equals("tool")) {
      throw new IllegalArgumentException("only a tool turn answers a tool call, not a " + role + " turn");
    }
  }

  /** A turn without tool parts. */
  public ChatTurn(String role, String content) {
    this(role, content, List.of(), "");
  }

  public static ChatTurn system(String content) {
    return new ChatTurn("system", content);
  }

  public static ChatTurn user(String content) {
    return new ChatTurn("user", content);
  }

  public static ChatTurn assistant(String content) {
    return new ChatTurn("assistant", content);
  }

  /** An assistant turn that calls {@code calls} (after {@code content}, which may be empty). */
  public static ChatTurn assistant(String content, List<ToolCalls.Call> calls) {
    return new ChatTurn("assistant", content, calls, "");
  }

  /** The result of the call {@code callId}. */
  public static ChatTurn tool(String callId, String content) {
    return new ChatTurn("tool", content, List.of(), callId);
  }

  /** Whether this turn is part of tool use: it makes calls or carries a result. */
  public boolean involvesTools() {
    return !toolCalls.isEmpty() || role.equals("tool");
  }

  boolean isSystem() {
    return role.equals("system");
  }

  boolean isUser() {
    return role.equals("user");
  }

  boolean isAssistant() {
    return role.equals("assistant");
  }
}
