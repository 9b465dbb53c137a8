package io.infermesh.core.server;

import java.util.List;

/**
 * Watches generated text for stop strings: the shared linear-time matcher ({@link
 * io.infermesh.models.stop.StopMatcher}, the same one the edge uses, so both tiers cut alike).
 * Text that might be the start of a stop string is held back until it is known not to be; on a
 * match, everything from the stop string on is dropped. Not thread-safe (one per request).
 */
final class StopMatcher {
  private final io.infermesh.models.stop.StopMatcher matcher;

  StopMatcher(List<String> stops) {
    this.matcher = io.infermesh.models.stop.StopMatcher.of(stops);
  }

  /** Feeds new text; returns what may be sent now. */
  String accept(String delta) {
    return matcher.accept(delta);
  }

  /** Whether a stop string was seen. */
  boolean stopped() {
    return matcher.stopped();
  }

  /** The text still held back, released at the end of generation. */
  String flush() {
    return matcher.flush();
  }
}
