package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

import io.infermesh.models.chat.ChatTurn;
import java.util.List;
import java.util.Optional;

/**
 * A chat turn that involves tools, as the client sent it (see {@link ChatMessage}).
 *
 * @param turn the turn in OpenAI's form; empty for the system turn the edge adds only to list the
 *     tools (the client sent none)
 * @param tools the tools offered, as OpenAI tool JSON; carried by the first turn only, empty on the others
 */
public record ToolForm(Optional<ChatTurn> turn, List<String> tools) {
  public ToolForm {
    requireNonNull(turn, "turn");
    tools = List.copyOf(requireNonNull(tools, "tools"));
  }

  /** A turn as sent, offering no tools. */
  public static ToolForm of(ChatTurn turn) {
    return new ToolForm(Optional.of(turn), List.of());
  }
}
