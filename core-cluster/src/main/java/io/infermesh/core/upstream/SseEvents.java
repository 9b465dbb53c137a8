package io.infermesh.core.upstream;

import java.util.function.Consumer;

/**
 * Server-sent events from lines: {@code data:} lines are joined with newlines until a blank line
 * dispatches the event; comments ({@code :...}) and other fields ({@code event:}, {@code id:},
 * {@code retry:}) are ignored, as OpenAI-compatible servers only use {@code data}. Not thread-safe
 * (one per stream).
 */
final class SseEvents {
  private final Consumer<String> onData;
  private final StringBuilder data = new StringBuilder();
  private boolean pending;

  SseEvents(Consumer<String> onData) {
    this.onData = onData;
  }

  /** Feeds one line, without its terminator. */
  void line(String line) {
    if (line.isEmpty()) {
      flush();
      return;
    }
    if (line.startsWith(":")) {
      return;
    }
    int colon = line.indexOf(':');
    String field = colon < 0 ? line : line.substring(0, colon);
    if (!field.equals("data")) {
      return;
    }
    String value = colon < 0 ? "" : line.substring(colon + 1);
    if (value.startsWith(" ")) {
      value = value.substring(1);
    }
    if (pending) {
      data.append('\n');
    }
    data.append(value);
    pending = true;
  }

  /** Dispatches an event still being collected (a stream that ends without a blank line). */
  void flush() {
    if (pending) {
      String d = data.toString();
      data.setLength(0);
      pending = false;
      onData.accept(d);
    }
  }
}
