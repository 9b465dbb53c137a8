package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * The stream a client reads when its request holds a token-quota reservation: it passes every event
 * through, counts the answer's pieces, and settles the request's {@link Meter} when the client closes
 * it (every transport does, however the answer ended). Confined to its reader, like the stream it
 * wraps; {@link #cancel()} from any thread.
 */
final class MeteredStream implements CompletionStream {
  private final CompletionStream inner;
  private final Meter meter;
  private long pieces;

  MeteredStream(CompletionStream inner, Meter meter) {
    this.inner = requireNonNull(inner, "inner");
    this.meter = requireNonNull(meter, "meter");
  }

  @Override
  public Served served() {
    return inner.served();
  }

  @Override
  public StreamEvent next() throws InterruptedException {
    return counted(inner.next());
  }

  @Override
  public StreamEvent poll() {
    return counted(inner.poll());
  }

  @Override
  public StreamEvent readRest(StringBuilder text) throws InterruptedException {
    int before = text.length();
    StreamEvent end = inner.readRest(text);
    pieces += text.length() > before ? 1 : 0;
    return end;
  }

  private StreamEvent counted(StreamEvent event) {
    if (event instanceof StreamEvent.Delta) {
      pieces++;
    }
    return event;
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

  @Override
  public void close() {
    try {
      inner.close();
    } finally {
      meter.settle(pieces);
    }
  }
}
