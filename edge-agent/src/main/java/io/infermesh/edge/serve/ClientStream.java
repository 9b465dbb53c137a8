package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * The stream a client reads, where its request ends for governance: it passes every event through,
 * counts the answer's pieces and keeps its end (done, failed), and when the client closes it (every
 * transport does, however the answer ended) settles the request's token-quota {@link Meter} and
 * writes its {@link AuditTrail} record. Confined to its reader, like the stream it wraps; {@link
 * #cancel()} from any thread.
 */
final class ClientStream implements CompletionStream {
  private final CompletionStream inner;
  private final Job job;
  private final AuditTrail audit;
  private long pieces;
  private StreamEvent end;

  ClientStream(CompletionStream inner, Job job, AuditTrail audit) {
    this.inner = requireNonNull(inner, "inner");
    this.job = requireNonNull(job, "job");
    this.audit = requireNonNull(audit, "audit");
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
    int before = text.length();
    StreamEvent last = inner.readRest(text);
    pieces += text.length() > before ? 1 : 0;
    return seen(last);
  }

  private StreamEvent seen(StreamEvent event) {
    if (event instanceof StreamEvent.Delta) {
      pieces++;
    } else if (event != null && end == null) {
      end = event;
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
      job.meter().settle(pieces);
      audit.ended(job, inner.served(), end);
    }
  }
}
