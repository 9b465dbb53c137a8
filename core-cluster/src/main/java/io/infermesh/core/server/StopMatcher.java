package io.infermesh.core.server;

import java.util.List;

/**
 * Watches generated text for stop strings. Text that might be the start of a stop string is held
 * back until it is known not to be; on a match, everything from the stop string on is dropped.
 * Not thread-safe (one per request).
 */
final class StopMatcher {
  private final List<String> stops;
  private final StringBuilder held = new StringBuilder();
  private boolean stopped;

  StopMatcher(List<String> stops) {
    this.stops = List.copyOf(stops);
  }

  /** Feeds new text; returns what may be sent now. */
  String accept(String delta) {
    if (stopped) {
      return "";
    }
    held.append(delta);
    int cut = -1;
    for (String s : stops) {
      int at = held.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
      }
    }
    if (cut >= 0) {
      stopped = true;
      String out = held.substring(0, cut);
      held.setLength(0);
      return out;
    }
    int keep = 0; // longest suffix of held that is a proper prefix of some stop string
    for (String s : stops) {
      for (int k = Math.min(s.length() - 1, held.length()); k > keep; k--) {
        if (held.toString().regionMatches(held.length() - k, s, 0, k)) {
          keep = k;
          break;
        }
      }
    }
    String out = held.substring(0, held.length() - keep);
    held.delete(0, held.length() - keep);
    return out;
  }

  /** Whether a stop string was seen. */
  boolean stopped() {
    return stopped;
  }

  /** The text still held back, released at the end of generation. */
  String flush() {
    String out = stopped ? "" : held.toString();
    held.setLength(0);
    return out;
  }
}
