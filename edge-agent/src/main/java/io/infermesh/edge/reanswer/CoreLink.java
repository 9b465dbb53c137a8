package io.infermesh.edge.reanswer;

import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.edge.route.CoreState;
import java.time.Duration;
import java.util.Iterator;

/**
 * What the replayer needs of the edge's escalation client ({@code CoreClient}): whether the core
 * is usable, a nudge to reconnect now, and one blocking call. Implementations are thread-safe.
 */
interface CoreLink {
  /** Whether the core can take a call now. */
  CoreState state();

  /** Drops the reconnect backoff, so the next look at {@link #state} connects at once. */
  void reconnectNow();

  /**
   * Sends {@code request} once.
   *
   * @throws io.grpc.StatusRuntimeException when the call fails, from the iterator too
   */
  Iterator<GenerateChunk> generate(GenerateRequest request, Duration timeout);
}
