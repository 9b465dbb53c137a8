package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The stream a client reads, where its request ends for governance: it passes every event through,
 * counts the answer's pieces and keeps its end (done, failed), and when the client closes it (every
 * transport does, however the answer ended) settles the request's token-quota {@link Meter} and
 * writes its {@link AuditTrail} record, once however often it is closed. Confined to its reader, like the stream it wraps; {@link
 * #cancel()} from any thread.
 */
final class ClientStream extends WatchedStream {
  private final Job job;
  private final AuditTrail audit;
  // close() may come from another thread (a cancelled gRPC call): the end is recorded once
  private final AtomicBoolean closed = new AtomicBoolean();
  private long pieces;
  private StreamEvent end;

  ClientStream(CompletionStream inner, Job job, AuditTrail audit) {
    super(inner);
    this.job = requireNonNull(job, "job");
    this.audit = requireNonNull(audit, "audit");
  }

  @Override
  public StreamEvent readRest(StringBuilder text) throws InterruptedException {
    int before = text.length();
    StreamEvent last = super.readRest(text);
    pieces += text.length() > before ? 1 : 0;
    return last;
  }

  @Override
  StreamEvent seen(StreamEvent event) {
    if (event instanceof StreamEvent.Delta) {
      pieces++;
    } else if (event != null && end == null) {
      end = event;
    }
    return event;
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      inner.close();
    } finally {
      job.meter().settle(pieces);
      audit.ended(job, inner.served(), end);
    }
  }
}
