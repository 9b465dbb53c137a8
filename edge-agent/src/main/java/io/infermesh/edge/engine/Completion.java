package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

/**
 * How a generation ended, with its token counts.
 *
 * @param finishReason why it ended
 * @param promptTokens tokens in the prompt
 * @param completionTokens tokens generated
 */
public record Completion(FinishReason finishReason, int promptTokens, int completionTokens) {
  public Completion {
    requireNonNull(finishReason, "finishReason");
  }
}
