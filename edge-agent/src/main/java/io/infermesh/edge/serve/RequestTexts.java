package io.infermesh.edge.serve;

import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.ToolForm;
import io.infermesh.models.chat.ChatTurn;
import io.infermesh.models.chat.ToolCalls;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * The texts of a request that carry what a client wrote, in one fixed order, and the request rebuilt
 * from rewritten texts in that order: each message's content, then, when it carries its tool form,
 * that turn's content and each call's arguments; or the raw prompt. Names, roles and the tools
 * offered are not client data in this sense and pass as they are. Stateless.
 */
final class RequestTexts {
  private RequestTexts() {}

  /** {@code request}'s texts, in the order {@link #replace} reads them back. */
  static List<String> of(CompletionRequest request) {
    List<String> texts = new ArrayList<>();
    if (request.operation() != Operation.CHAT) {
      texts.add(request.prompt() == null ? "" : request.prompt());
      return texts;
    }
    for (ChatMessage m : request.messages()) {
      texts.add(m.content());
      turn(m).ifPresent(t -> {
        texts.add(t.content());
        t.toolCalls().forEach(c -> texts.add(c.arguments()));
      });
    }
    return texts;
  }

  /** {@code request} with its texts replaced by {@code texts}' next ones, in the order of {@link #of}. */
  static CompletionRequest replace(CompletionRequest request, Iterator<String> texts) {
    if (request.operation() != Operation.CHAT) {
      String prompt = texts.next();
      return request.withInput(request.messages(), request.prompt() == null ? null : prompt);
    }
    List<ChatMessage> messages = new ArrayList<>(request.messages().size());
    for (ChatMessage m : request.messages()) {
      String content = texts.next();
      Optional<ToolForm> form = m.toolForm();
      Optional<ChatTurn> turn = turn(m);
      if (turn.isPresent()) {
        ChatTurn t = turn.get();
        String turnContent = texts.next();
        List<ToolCalls.Call> calls = new ArrayList<>(t.toolCalls().size());
        for (ToolCalls.Call c : t.toolCalls()) {
          calls.add(new ToolCalls.Call(c.name(), texts.next(), c.id()));
        }
        form = Optional.of(new ToolForm(Optional.of(new ChatTurn(t.role(), turnContent, calls, t.toolCallId())),
            form.get().tools()));
      }
      messages.add(new ChatMessage(m.role(), content, m.name(), form));
    }
    return request.withInput(messages, request.prompt());
  }

  private static Optional<ChatTurn> turn(ChatMessage m) {
    return m.toolForm().flatMap(ToolForm::turn);
  }
}
