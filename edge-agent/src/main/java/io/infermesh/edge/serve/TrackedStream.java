package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * An escalated stream in the {@link InFlight} ledger: it stays there (so a drain waits for it)
 * until its last event or its close, and its end is counted by {@link Accounting} (the tokens the
 * core reported charged to the tenant, those of the other choices of an {@code n}-choice call
 * too). Confined to its reader, like the stream it wraps; {@link #cancel()} and {@link #abort}
 * from any thread.
 */
final class TrackedStream extends WatchedStream implements InFlight.Entry {
  private final Job job;
  private final Accounting accounting;
  private boolean ended;

  TrackedStream(CompletionStream inner, Job job, Accounting accounting) {
    super(inner);
    this.job = requireNonNull(job, "job");
    this.accounting = requireNonNull(accounting, "accounting");
  }

  @Override
  StreamEvent seen(StreamEvent event) {
    if (!ended && event instanceof StreamEvent.Done done) {
      accounting.charge(job, done.usage().totalTokens());
      end("none");
    } else if (!ended && event instanceof StreamEvent.Failed failed) {
      end(failed.error().kind().metricName());
    }
    return event;
  }

  /**
   * Choice {@code index} of a core call that answers several (choice 0 is this stream): its
   * completion tokens are charged to the job when it ends (the prompt was counted with choice 0).
   */
  @Override
  public Optional<CompletionStream> choice(int index) {
    return inner.choice(index).map(c -> new WatchedStream(c) {
      private boolean charged;

      @Override
      StreamEvent seen(StreamEvent event) {
        if (!charged && event instanceof StreamEvent.Done done) {
          charged = true;
          accounting.charge(job, done.usage().completionTokens());
        }
        return event;
      }

      @Override
      public void close() {
        c.close();
      }
    });
  }

  private void end(String errorType) {
    ended = true;
    accounting.ended(this, job, inner.served().route().route().wireName(), errorType);
  }

  @Override
  public void close() {
    inner.close();
    if (!ended) {
      end("cancelled");
    }
  }

  /** Stops the stream for shutdown: cancels it (its reader receives the core's cancellation). */
  @Override
  public void abort(EdgeException reason) {
    inner.cancel();
  }
}
