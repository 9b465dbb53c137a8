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
 * <p>Confined to its reader, like the stream it wraps; {@link #cancel()} from any thread.
 */
final class FilteredAnswer extends HeldBackAnswer {
  private final Supplier<AnswerFilter.Stream> filters;
  private final AnswerFilter.Stream filter;
  private final Consumer<Map<String, Integer>> redacted;

  // confined to the reader
  private boolean ended;

  FilteredAnswer(CompletionStream inner, Supplier<AnswerFilter.Stream> filters,
      Consumer<Map<String, Integer>> redacted) {
    this.inner = requireNonNull(inner, "inner");
    this.filters = requireNonNull(filters, "filters");
    this.filter = filters.get();
    this.redacted = requireNonNull(redacted, "redacted");
  }

  @Override
  public Optional<CompletionStream> choice(int index) {
    return inner.choice(index).map(c -> new FilteredAnswer(c, filters, redacted));
  }

  /** The client's event for {@code event}; null when all of its text is held back. */
  @Override
  StreamEvent rewrite(StreamEvent event) {
    if (ended) {
      return event;
    }
    if (event instanceof StreamEvent.Delta delta) {
      return rewritten(delta, filter.accept(delta.text()));
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
    return stash(event, rest);
  }
}
