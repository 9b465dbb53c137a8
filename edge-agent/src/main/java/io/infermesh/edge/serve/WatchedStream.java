package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * A stream that passes everything through to the one it wraps and shows each event it reads to
 * {@link #seen} first: the base of the wrappers that keep track of a request's end ({@link
 * TrackedStream}, {@link ClientStream}). Confined to its reader, like the stream it wraps; {@link
 * #cancel()} from any thread.
 */
abstract class WatchedStream implements CompletionStream {
  /** The stream wrapped. */
  final CompletionStream inner;

  WatchedStream(CompletionStream inner) {
    this.inner = requireNonNull(inner, "inner");
  }

  /** Called with each event read (null from an empty {@link #poll}); returns it. */
  abstract StreamEvent seen(StreamEvent event);

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

  @Override
  public Optional<CompletionStream> choice(int index) {
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
}
