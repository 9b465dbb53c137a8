package io.infermesh.edge.serve;

/**
 * An escalated stream as {@link CompletionService} sees it: it stays in the active set (so a
 * drain waits for it) until its last event or its close, and its end is counted in the metrics.
 * Confined to its reader, like the stream it wraps; {@link #cancel()} from any thread.
 */
final class TrackedStream implements CompletionStream {
  private final CompletionStream inner;
  private final CompletionService service;
  private final RequestContext context;
  private final long arrived;
  private boolean ended;

  TrackedStream(CompletionStream inner, CompletionService service, RequestContext context, long arrived) {
    this.inner = inner;
    this.service = service;
    this.context = context;
    this.arrived = arrived;
  }

  @Override
  public Served served() {
    return inner.served();
  }

  @Override
  public StreamEvent next() throws InterruptedException {
    return seen(inner.next());
  }

  @Override
  public StreamEvent poll() {
    return seen(inner.poll());
  }

  @Override
  public StreamEvent readRest(StringBuilder text) throws InterruptedException {
    return seen(inner.readRest(text));
  }

  private StreamEvent seen(StreamEvent event) {
    if (!ended && event instanceof StreamEvent.Done done) {
      end("none", done.usage());
    } else if (!ended && event instanceof StreamEvent.Failed failed) {
      end(failed.error().kind().metricName(), null);
    }
    return event;
  }

  private void end(String errorType, Usage usage) {
    ended = true;
    service.escalationEnded(this, context, inner.served().route().route().wireName(), errorType, usage, arrived);
  }

  @Override
  public java.util.Optional<CompletionStream> choice(int index) {
    return inner.choice(index);
  }

  @Override
  public void awaitEnd(long nanos) throws InterruptedException {
    inner.awaitEnd(nanos);
  }

  @Override
  public void cancel() {
    inner.cancel();
  }

  @Override
  public void close() {
    inner.close();
    if (!ended) {
      end("cancelled", null);
    }
  }

  /** Stops the stream for shutdown. */
  void abort() {
    inner.cancel();
  }
}
