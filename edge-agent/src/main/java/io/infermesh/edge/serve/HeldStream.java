package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.swap.EngineHold;
import java.util.Optional;

/**
 * An answer that holds the engine version it was opened on ({@link EngineHold}) until its reader
 * closes it, so a model swap never unloads an engine under it. When the replaced version's drain
 * timeout passes first, the answer is stopped and ends with UNAVAILABLE naming the version (the
 * caller may retry: a retry runs on the new version). Consumed by one thread, as any stream.
 */
final class HeldStream implements CompletionStream {
  private final CompletionStream answer;
  private final EngineHold hold;

  HeldStream(CompletionStream answer, EngineHold hold) {
    this.answer = requireNonNull(answer, "answer");
    this.hold = requireNonNull(hold, "hold");
    hold.onExpiry(answer::cancel);
  }

  @Override
  public Served served() {
    return answer.served();
  }

  @Override
  public StreamEvent next() throws InterruptedException {
    return expired(answer.next());
  }

  @Override
  public StreamEvent poll() {
    return expired(answer.poll());
  }

  @Override
  public StreamEvent readRest(StringBuilder text) throws InterruptedException {
    return expired(answer.readRest(text));
  }

  @Override
  public void awaitEnd(long nanos) throws InterruptedException {
    answer.awaitEnd(nanos);
  }

  @Override
  public Optional<CompletionStream> choice(int index) {
    return answer.choice(index);
  }

  /** A failure caused by the drain timeout, said as such: the request is safe to retry. */
  private StreamEvent expired(StreamEvent event) {
    if (event instanceof StreamEvent.Failed && hold.expired()) {
      return new StreamEvent.Failed(EdgeException.unavailable("model version " + hold.version()
          + " was unloaded after its drain timeout; retry (a new request runs on the version now serving)"));
    }
    return event;
  }

  @Override
  public void cancel() {
    answer.cancel();
  }

  @Override
  public void close() {
    try {
      answer.close();
    } finally {
      hold.release();
    }
  }
}
