package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.trace.Span;
import java.util.List;

/**
 * Ends {@code span} with the stream it wraps: a {@value EdgeSpans#FIRST_TOKEN} event at the first
 * text, usage and finish reason at the end, an error status for a failure, and the end of the span
 * when the answer ends or its reader closes it. Confined to the reader, like the stream it wraps.
 */
final class SpanStream extends WatchedStream {
  private final Span span;
  // confined to the reader
  private boolean firstSeen;
  private boolean ended;

  SpanStream(CompletionStream inner, Span span) {
    super(inner);
    this.span = requireNonNull(span, "span");
  }

  @Override
  StreamEvent seen(StreamEvent event) {
    if (event instanceof StreamEvent.Delta && !firstSeen) {
      firstSeen = true;
      span.addEvent(EdgeSpans.FIRST_TOKEN);
    } else if (event instanceof StreamEvent.Done done) {
      span.setAttribute(EdgeSpans.INPUT_TOKENS, (long) done.usage().promptTokens());
      span.setAttribute(EdgeSpans.OUTPUT_TOKENS, (long) done.usage().completionTokens());
      span.setAttribute(EdgeSpans.FINISH_REASONS, List.of(done.finishReason().wireName()));
      end();
    } else if (event instanceof StreamEvent.Failed failed) {
      EdgeSpans.failed(span, failed.error());
      end();
    }
    return event;
  }

  private void end() {
    if (!ended) {
      ended = true;
      Served served = inner.served();
      span.setAttribute(EdgeSpans.RESPONSE_MODEL, served.model());
      span.setAttribute(EdgeSpans.MODEL_VERSION, served.modelVersion());
      span.setAttribute(EdgeSpans.ROUTE_TAKEN, served.route().route().wireName());
      span.setAttribute(EdgeSpans.ROUTE_REASON, served.route().reason());
      span.end();
    }
  }

  @Override
  public void close() {
    try {
      inner.close();
    } finally {
      end();
    }
  }
}
