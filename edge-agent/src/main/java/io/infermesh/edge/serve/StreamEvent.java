package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.FinishReason;

/** What a {@link CompletionStream} yields: text deltas, then exactly one {@link Done} or {@link Failed}. */
public sealed interface StreamEvent {
  /** Text produced since the previous event; never empty. */
  record Delta(String text) implements StreamEvent {
    public Delta {
      requireNonNull(text, "text");
    }
  }

  /** The normal end. */
  record Done(FinishReason finishReason, Usage usage) implements StreamEvent {
    public Done {
      requireNonNull(finishReason, "finishReason");
      requireNonNull(usage, "usage");
    }
  }

  /** The end after a failure; text already delivered stays delivered. */
  record Failed(EdgeException error) implements StreamEvent {
    public Failed {
      requireNonNull(error, "error");
    }
  }
}
