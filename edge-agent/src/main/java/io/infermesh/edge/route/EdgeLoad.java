package io.infermesh.edge.route;

import java.time.Duration;

/** How long a request admitted now would wait before the local engine starts on it (an estimate). */
@FunctionalInterface
public interface EdgeLoad {
  /** The estimated queue wait; {@link Duration#ZERO} when a slot is free. */
  Duration estimatedWait();

  /** A load that is always idle. */
  static EdgeLoad idle() {
    return () -> Duration.ZERO;
  }
}
