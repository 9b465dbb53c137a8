package io.infermesh.core.lifecycle;

import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ToolCallPart;
import io.infermesh.api.v1.ToolTurn;
import io.infermesh.core.status.CoreException;
import io.infermesh.models.chat.ChatTemplate;
import io.infermesh.models.chat.ChatTurn;
import io.infermesh.models.chat.ToolCalls;
import io.infermesh.models.jinja.JinjaException;
import java.util.ArrayList;
import java.util.List;

/**
 * A validated wire chat rendered by a model's template: each message in its fallback form
 * ({@code role}, {@code content}), except that a message carrying its OpenAI form ({@code
 * tool_turn}) reaches the template as sent, with the tools offered. A template that does not render
 * tools itself turns those back into the fallback form, so both readings give one prompt for it.
 * Stateless.
 */
public final class ChatPrompt {
  private ChatPrompt() {}

  /**
   * The prompt text for {@code messages}.
   *
   * @throws CoreException INVALID_ARGUMENT naming {@code chat.messages} when a tool turn is
   *     malformed or the model's own template refuses the chat
   */
  public static String render(ChatTemplate template, List<ChatMessage> messages) {
    List<ChatTurn> turns = new ArrayList<>(messages.size());
    List<String> tools = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage m = messages.get(i);
      if (!m.hasToolTurn()) {
        turns.add(new ChatTurn(m.getRole(), m.getContent()));
        continue;
      }
      ToolTurn t = m.getToolTurn();
      tools.addAll(t.getToolsList());
      if (!t.getRole().isEmpty()) {
        turns.add(turn(t, "chat.messages[" + i + "].tool_turn"));
      }
    }
    try {
      return template.render(turns, tools);
    } catch (JinjaException e) {
      throw CoreException.invalidArgument("chat.messages", "the model's chat template refused the chat: "
          + e.getMessage());
    } catch (IllegalArgumentException e) { // a tool or a call's arguments that are not JSON
      throw CoreException.invalidArgument("chat.messages", e.getMessage());
    }
  }

  private static ChatTurn turn(ToolTurn t, String field) {
    List<ToolCalls.Call> calls = new ArrayList<>(t.getToolCallsCount());
    for (ToolCallPart c : t.getToolCallsList()) {
      if (c.getName().isEmpty()) {
        throw CoreException.invalidArgument(field + ".tool_calls", "each call needs a name");
      }
      calls.add(new ToolCalls.Call(c.getName(), c.getArguments(), c.getId()));
    }
    try {
      return new ChatTurn(t.getRole(), t.getContent(), calls, t.getToolCallId());
    } catch (IllegalArgumentException e) {
      throw CoreException.invalidArgument(field, e.getMessage());
    }
  }
}
