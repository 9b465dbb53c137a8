package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import java.util.function.Function;

/**
 * The core's answer as the client reads it through an {@link Egress.Exchange}: each delta's text
 * rewritten ({@link Egress.Exchange#answer}), a delta whose text was all held back skipped, and
 * what is held back delivered before the end ({@link Egress.Exchange#flush}). When the core fails
 * and the edge takes over, the held-back text is flushed first, the edge continues from the text
 * the client was shown, and its own text passes as it is.
 *
 * <p>Confined to its reader, like the stream it wraps (the edge takes over within a read); {@link
 * #cancel()} from any thread. {@link #readRest} reads event by event: a rewritten answer gives up
 * the wrapped stream's single wake-up for a whole answer.
 */
final class RewrittenAnswer extends HeldBackAnswer {
  private final Egress.Exchange exchange;
  // confined to the reader
  private final StringBuilder shown = new StringBuilder();
  private boolean local;
  private boolean flushed;
  private String tail = "";

  private RewrittenAnswer(Egress.Exchange exchange) {
    this.exchange = requireNonNull(exchange, "exchange");
  }

  /**
   * Sends {@code exchange}'s call through {@code escalate}, with {@code original}'s fallback (if
   * any) continuing from the text the client was shown.
   */
  static RewrittenAnswer start(Egress.Exchange exchange, Escalator.Call original,
      Function<Escalator.Call, CompletionStream> escalate) {
    RewrittenAnswer answer = new RewrittenAnswer(exchange);
    Escalator.Fallback fallback = original.fallback();
    // the fallback is the edge's own, whatever the exchange's call says
    Escalator.Call sent = exchange.call().withFallback(fallback == null ? null
        : (partial, soFar, degraded) -> fallback.continueAfter(answer.handOver(), soFar, degraded));
    answer.inner = requireNonNull(escalate.apply(sent), "stream");
    return answer;
  }

  /** The edge takes over: what was held back goes out next, and the edge continues after all of it. */
  private String handOver() {
    local = true;
    flushed = true;
    tail = exchange.flush();
    shown.append(tail);
    return shown.toString();
  }

  @Override
  boolean holding() {
    return super.holding() || !tail.isEmpty();
  }

  /** Flushed text, then the event read with it; else null. */
  @Override
  StreamEvent pending() {
    if (!tail.isEmpty()) {
      StreamEvent.Delta text = new StreamEvent.Delta(tail);
      tail = "";
      return text;
    }
    return super.pending();
  }

  @Override
  StreamEvent rewrite(StreamEvent event) {
    if (!tail.isEmpty()) { // the edge took over within this read: its first event waits for the flushed text
      String text = tail;
      tail = "";
      return stash(event, text);
    }
    if (local) {
      return event;
    }
    if (event instanceof StreamEvent.Delta delta) {
      String text = exchange.answer(delta.text());
      shown.append(text);
      return rewritten(delta, text);
    }
    if (!flushed) { // the core's answer ended: what is held back goes out before the end
      flushed = true;
      String rest = exchange.flush();
      if (!rest.isEmpty()) {
        shown.append(rest);
        return stash(event, rest);
      }
    }
    return event;
  }
}
