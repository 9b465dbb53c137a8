package io.infermesh.edge.serve;

import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.route.RouteDecision;
import java.util.List;

/**
 * A cached answer replayed in the chunks it was first streamed in, then {@code Done} with the
 * original usage (every prompt token counted as cached). Confined to its reader.
 */
final class ReplayStream implements CompletionStream {
  private final Served served;
  private final CachedCompletion cached;
  private final List<String> chunks;
  private int next;
  private StreamEvent terminal;

  ReplayStream(String requestId, String model, String modelVersion, CachedCompletion cached) {
    this.served = new Served(requestId, RouteDecision.cacheHit(), model, modelVersion);
    this.cached = cached;
    this.chunks = cached.chunks();
  }

  @Override
  public Served served() {
    return served;
  }

  @Override
  public StreamEvent next() {
    if (terminal != null) {
      return terminal;
    }
    if (next < chunks.size()) {
      return new StreamEvent.Delta(chunks.get(next++));
    }
    terminal = new StreamEvent.Done(cached.finishReason(),
        new Usage(cached.promptTokens(), cached.completionTokens(), cached.promptTokens()));
    return terminal;
  }

  @Override
  public StreamEvent poll() {
    return next();
  }

  @Override
  public void cancel() {
    next = chunks.size();
  }
}
