package io.infermesh.edge.serve;

import io.infermesh.edge.config.Limits;
import io.infermesh.edge.engine.ChatMessage;
import java.util.List;

/**
 * The size bounds on a request's input ({@code limits.max_messages}, {@code
 * limits.max_input_bytes}), checked for both transports before the chat is rendered or
 * tokenized, in one pass that stops at the first byte over the bound. Stateless; thread-safe.
 */
final class InputLimits {
  private InputLimits() {}

  /** @throws EdgeException INVALID_ARGUMENT naming {@code messages} or {@code prompt} */
  static void check(CompletionRequest request, Limits limits) {
    if (request.operation() != Operation.CHAT) {
      if (request.prompt() != null && utf8Bytes(request.prompt(), limits.maxInputBytes()) > limits.maxInputBytes()) {
        throw EdgeException.invalid("prompt", "prompt: must be at most " + limits.maxInputBytes()
            + " bytes of UTF-8 (limits.max_input_bytes)");
      }
      return;
    }
    List<ChatMessage> messages = request.messages();
    if (messages.size() > limits.maxMessages()) {
      throw EdgeException.invalid("messages", "messages: at most " + limits.maxMessages()
          + " messages are allowed (limits.max_messages), got " + messages.size());
    }
    long left = limits.maxInputBytes();
    for (ChatMessage m : messages) {
      left -= utf8Bytes(m.content(), left) + utf8Bytes(m.name(), left);
      if (left < 0) {
        throw EdgeException.invalid("messages", "messages: the messages' contents and names must be at most "
            + limits.maxInputBytes() + " bytes of UTF-8 together (limits.max_input_bytes)");
      }
    }
  }

  /** UTF-8 bytes of {@code s}, counting no further than just past {@code limit}. */
  static long utf8Bytes(String s, long limit) {
    long bytes = 0;
    for (int i = 0; i < s.length() && bytes <= limit; i++) {
      char c = s.charAt(i);
      bytes += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3; // a surrogate pair: 4
    }
    return bytes;
  }
}
