package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.FinishReason;
import java.util.List;

/** What a {@link CompletionStream} yields: text deltas, then exactly one {@link Done} or {@link Failed}. */
public sealed interface StreamEvent {
  /**
   * Text produced since the previous event, and the log-probabilities of its tokens when the
   * request asked for them (only the core reports them). The text is never empty unless
   * {@code logprobs} is not (tokens whose text is still held back).
   */
  record Delta(String text, List<TokenLogprob> logprobs) implements StreamEvent {
    public Delta {
      requireNonNull(text, "text");
      logprobs = List.copyOf(logprobs);
    }

    /** Text without log-probabilities. */
    public Delta(String text) {
      this(text, List.of());
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
