package io.infermesh.edge.serve;

import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * A core's answer for tests, without sockets: {@code chunks} one delta each, then the end — or,
 * when it fails, the call's fallback continuing from the text so far, as {@code CoreStream} does
 * ({@code core-failed-midstream}). Confined to its reader.
 */
final class ScriptedCoreStream implements CompletionStream {
  private final Escalator.Call call;
  private final Deque<String> chunks;
  private final boolean fails;
  private final StringBuilder partial = new StringBuilder();
  private Served served;
  private CompletionStream local;
  private int sent;

  private ScriptedCoreStream(Escalator.Call call, List<String> chunks, boolean fails) {
    this.call = call;
    this.chunks = new ArrayDeque<>(chunks);
    this.fails = fails;
    this.served = new Served(call.requestId(), call.decision(), "core-model", "1");
  }

  /** {@code chunks}, then a normal end. */
  static ScriptedCoreStream answering(Escalator.Call call, String... chunks) {
    return new ScriptedCoreStream(call, List.of(chunks), false);
  }

  /** {@code chunks}, then the core fails. */
  static ScriptedCoreStream failingAfter(Escalator.Call call, String... chunks) {
    return new ScriptedCoreStream(call, List.of(chunks), true);
  }

  @Override
  public Served served() {
    return served;
  }

  @Override
  public StreamEvent next() throws InterruptedException {
    if (local != null) {
      return local.next();
    }
    if (!chunks.isEmpty()) {
      String text = chunks.poll();
      partial.append(text);
      sent++;
      return new StreamEvent.Delta(text);
    }
    if (!fails) {
      return new StreamEvent.Done(FinishReason.STOP, new Usage(5, sent, 0));
    }
    if (call.fallback() == null) {
      return new StreamEvent.Failed(EdgeException.unavailable("core down"));
    }
    local = call.fallback().continueAfter(partial.toString(), sent,
        new RouteDecision(Route.EDGE_DEGRADED, "core-failed-midstream"));
    served = local.served();
    return local.next();
  }

  @Override
  public StreamEvent poll() {
    throw new UnsupportedOperationException("read with next()");
  }

  @Override
  public void cancel() {
    if (local != null) {
      local.cancel();
    }
  }
}
