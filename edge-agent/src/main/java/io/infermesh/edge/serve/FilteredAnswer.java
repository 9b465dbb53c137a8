package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.privacy.AnswerFilter;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The answer as the client reads it through the tenant's output filter ({@link AnswerFilter}): each
 * delta's text filtered, a delta whose text was all held back skipped, what is held back filtered and
 * delivered before the end, and the redactions per kind reported once, at the end. Every choice of an
 * {@code n}-choice call is filtered on its own.
 *
 * <p>Confined to its reader, like the stream it wraps; {@link #cancel()} from any thread. {@link
 * #readRest} reads event by event.
 */
final class FilteredAnswer implements CompletionStream {
  private final CompletionStream inner;
  private final Supplier<AnswerFilter.Stream> filters;
  private final AnswerFilter.Stream filter;
  private final Consumer<Map<String, Integer>> redacted;

  // confined to the reader
  private boolean ended;
  private StreamEvent stashed;

  FilteredAnswer(CompletionStream inner, Supplier<AnswerFilter.Stream> filters,
      Consumer<Map<String, Integer>> redacted) {
    this.inner = requireNonNull(inner, "inner");
    this.filters = requireNonNull(filters, "filters");
    this.filter = filters.get();
    this.redacted = requireNonNull(redacted, "redacted");
  }

  @Override
  public Served served() {
    return inner.served();
  }

  @Override
  public StreamEvent next() throws InterruptedException {
    StreamEvent out = pending();
    while (out == null) {
      out = filtered(inner.next());
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
      out = filtered(event);
    }
    return out;
  }

  @Override
  public void awaitEnd(long nanos) throws InterruptedException {
    if (stashed == null) {
      inner.awaitEnd(nanos);
    }
  }

  @Override
  public Optional<CompletionStream> choice(int index) {
    return inner.choice(index).map(c -> new FilteredAnswer(c, filters, redacted));
  }

  private StreamEvent pending() {
    StreamEvent event = stashed;
    stashed = null;
    return event;
  }

  /** The client's event for {@code event}; null when all of its text is held back. */
  private StreamEvent filtered(StreamEvent event) {
    if (ended) {
      return event;
    }
    if (event instanceof StreamEvent.Delta delta) {
      String text = filter.accept(delta.text());
      return text.isEmpty() && delta.logprobs().isEmpty() ? null : new StreamEvent.Delta(text, delta.logprobs());
    }
    ended = true; // the answer ended (or failed): what is held back goes out before the end
    String rest = filter.flush();
    Map<String, Integer> counts = filter.redacted();
    if (!counts.isEmpty()) {
      redacted.accept(counts);
    }
    if (rest.isEmpty()) {
      return event;
    }
    stashed = event;
    return new StreamEvent.Delta(rest);
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
