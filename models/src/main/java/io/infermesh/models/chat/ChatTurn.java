package io.infermesh.models.chat;

import static java.util.Objects.requireNonNull;

import java.util.Set;

/**
 * One turn of a chat as a template sees it.
 *
 * @param role {@code system}, {@code user} or {@code assistant}
 * @param content the text, as sent
 */
public record ChatTurn(String role, String content) {
  private static final Set<String> ROLES = Set.of("system", "user", "assistant");

  public ChatTurn {
    requireNonNull(role, "role");
    requireNonNull(content, "content");
    if (!ROLES.contains(role)) {
      throw new IllegalArgumentException("role must be system, user or assistant, got '" + role + "'");
    }
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
