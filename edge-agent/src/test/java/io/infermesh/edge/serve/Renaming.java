package io.infermesh.edge.serve;

import io.infermesh.edge.engine.ChatMessage;
import java.util.List;

/**
 * A toy {@link Egress} for tests of the seam (not masking): {@code from} becomes {@code to} in the
 * chat and the local draft that are sent, and back in the answer. An answer's text from an
 * unclosed {@code [} on is held back until a later piece closes it, or flushed as it is.
 */
record Renaming(String from, String to) implements Egress {
  @Override
  public Exchange open(Escalator.Call call) {
    CompletionRequest r = call.request();
    List<ChatMessage> renamed = r.messages().stream()
        .map(m -> ChatMessage.of(m.role(), m.content().replace(from, to))).toList();
    Escalator.Call sent = call.withRequest(r.withInput(renamed, r.prompt()))
        .withLocalDraft(call.localDraft().replace(from, to));
    StringBuilder held = new StringBuilder();
    return new Exchange() {
      @Override
      public Escalator.Call call() {
        return sent;
      }

      @Override
      public String answer(String text) {
        held.append(text);
        int open = held.lastIndexOf("[");
        int cut = open >= 0 && held.indexOf("]", open) < 0 ? open : held.length();
        String out = held.substring(0, cut).replace(to, from);
        held.delete(0, cut);
        return out;
      }

      @Override
      public String flush() {
        String out = held.toString().replace(to, from);
        held.setLength(0);
        return out;
      }
    };
  }
}
