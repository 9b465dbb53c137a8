package io.infermesh.edge.serve;

import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.route.RouteDecision;
import java.util.List;

/**
 * A cached answer replayed in the chunks it was first streamed in, then {@code Done} with the
 * original usage (every prompt token counted as cached; for another finished answer, as given).
 * Confined to its reader.
 */
final class ReplayStream implements CompletionStream {
  private final Served served;
  private final CachedCompletion cached;
  private final List<String> chunks;
  private int next;
  private StreamEvent terminal;

  private final int cachedTokens;

  ReplayStream(String requestId, String model, String modelVersion, CachedCompletion cached) {
    this(new Served(requestId, RouteDecision.cacheHit(), model, modelVersion), cached, cached.promptTokens());
  }

  /** An answer generated already (e.g. a draft the cascade kept), served as {@code served}. */
  ReplayStream(Served served, CachedCompletion answer, int cachedTokens) {
    this.served = served;
    this.cached = answer;
    this.chunks = answer.chunks();
    this.cachedTokens = cachedTokens;
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
        new Usage(cached.promptTokens(), cached.completionTokens(), cachedTokens));
    return terminal;
  }

  /** Everything is here already: never waits. */
  @Override
  public void awaitEnd(long nanos) {}

  @Override
  public StreamEvent poll() {
    return next();
  }

  @Override
  public void cancel() {
    next = chunks.size();
  }
}
