package io.infermesh.edge.shadow;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.Served;
import io.infermesh.edge.serve.StreamEvent;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The caller's stream, unchanged, with a copy of its text kept on the side: when it ends with
 * {@link StreamEvent.Done}, {@code answer} completes with the whole text; when it fails or is
 * cancelled, {@code answer} is cancelled (nothing to compare). Consumed by one thread, like any
 * {@link CompletionStream}; {@link #cancel()} from any thread.
 */
final class RecordingStream implements CompletionStream {

  private final CompletionStream primary;
  private final CompletableFuture<String> answer;
  private final StringBuilder text = new StringBuilder(); // confined to the reading thread

  RecordingStream(CompletionStream primary, CompletableFuture<String> answer) {
    this.primary = requireNonNull(primary, "primary");
    this.answer = requireNonNull(answer, "answer");
  }

  @Override
  public Served served() {
    return primary.served();
  }

  @Override
  public StreamEvent next() throws InterruptedException {
    return seen(primary.next());
  }

  @Override
  public StreamEvent poll() {
    return seen(primary.poll());
  }

  @Override
  public StreamEvent readRest(StringBuilder rest) throws InterruptedException {
    int from = rest.length();
    StreamEvent end = primary.readRest(rest);
    text.append(rest, from, rest.length());
    return seen(end);
  }

  @Override
  public void awaitEnd(long nanos) throws InterruptedException {
    primary.awaitEnd(nanos);
  }

  @Override
  public Optional<CompletionStream> choice(int index) {
    return primary.choice(index);
  }

  @Override
  public void cancel() {
    answer.cancel(false);
    primary.cancel();
  }

  private StreamEvent seen(StreamEvent event) {
    if (event instanceof StreamEvent.Delta d) {
      text.append(d.text());
    } else if (event instanceof StreamEvent.Done) {
      answer.complete(text.toString());
    } else if (event instanceof StreamEvent.Failed) {
      answer.cancel(false);
    }
    return event;
  }
}
