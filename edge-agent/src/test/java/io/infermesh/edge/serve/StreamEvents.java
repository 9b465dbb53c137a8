package io.infermesh.edge.serve;

import java.util.ArrayList;
import java.util.List;

/** Reading a {@link CompletionStream} in tests, event by event. */
final class StreamEvents {
  private StreamEvents() {}

  /** Every event of {@code stream} up to and including its end, read with {@code next()}. */
  static List<StreamEvent> untilEnd(CompletionStream stream) throws InterruptedException {
    List<StreamEvent> events = new ArrayList<>();
    StreamEvent e;
    do {
      e = stream.next();
      events.add(e);
    } while (e instanceof StreamEvent.Delta);
    return events;
  }
}
