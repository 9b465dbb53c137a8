package io.infermesh.edge.serve;

/**
 * The base of the answers whose text is rewritten on its way to the client with part of it held
 * back ({@link RewrittenAnswer}, {@link FilteredAnswer}): a delta whose text was all held back is
 * skipped, and an event read together with held-back text waits ({@link #stash}) until that text has
 * gone out. Subclasses say what the client gets for each event ({@link #rewrite}).
 *
 * <p>Confined to its reader, like the stream it wraps; {@link #cancel()} from any thread. {@link
 * #readRest} reads event by event.
 */
abstract class HeldBackAnswer implements CompletionStream {
  /** The stream read; set before this one is handed to its reader. */
  CompletionStream inner;

  // confined to the reader
  private StreamEvent stashed;

  /** The client's event for {@code event}; null when all of its text is held back. */
  abstract StreamEvent rewrite(StreamEvent event);

  /** {@code delta} with {@code text} instead of its own; null when nothing is left to send. */
  static StreamEvent.Delta rewritten(StreamEvent.Delta delta, String text) {
    return text.isEmpty() && delta.logprobs().isEmpty() ? null : new StreamEvent.Delta(text, delta.logprobs());
  }

  /** Keeps {@code event} for the next read, after {@code text}, which the client gets now. */
  final StreamEvent stash(StreamEvent event, String text) {
    stashed = event;
    return new StreamEvent.Delta(text);
  }

  /** What a read returns before reading on: the stashed event, else null. */
  StreamEvent pending() {
    StreamEvent event = stashed;
    stashed = null;
    return event;
  }

  /** Whether something waits to be returned without reading the wrapped stream. */
  boolean holding() {
    return stashed != null;
  }

  @Override
  public Served served() {
    return inner.served();
  }

  @Override
  public StreamEvent next() throws InterruptedException {
    StreamEvent out = pending();
    while (out == null) {
      out = rewrite(inner.next());
    }
    return out;
  }

  @Override
  public StreamEvent poll() {
    StreamEvent out = pending();
    while (out == null) {
      StreamEvent event = inner.poll();
      if (event == null) {
        return null;
      }
      out = rewrite(event);
    }
    return out;
  }

  @Override
  public void awaitEnd(long nanos) throws InterruptedException {
    if (!holding()) {
      inner.awaitEnd(nanos);
    }
  }

  @Override
  public void cancel() {
    inner.cancel();
  }

  @Override
  public void close() {
    inner.close();
  }
}
