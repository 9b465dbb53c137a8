package io.infermesh.edge.engine;

import java.util.Locale;
import java.util.Optional;

/** The speaker of a chat turn. */
public enum Role {
  SYSTEM,
  USER,
  ASSISTANT;

  /** The lower-case name used by OpenAI and {@code infermesh.v1.ChatMessage.role}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The role named {@code text} exactly ({@code system}, {@code user}, {@code assistant}), if any. */
  public static Optional<Role> parse(String text) {
    if (text == null) {
      return Optional.empty();
    }
    return switch (text) {
      case "system" -> Optional.of(SYSTEM);
      case "user" -> Optional.of(USER);
      case "assistant" -> Optional.of(ASSISTANT);
      default -> Optional.empty();
    };
  }
}
