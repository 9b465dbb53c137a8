package io.infermesh.core.schedule;

import io.infermesh.core.engine.SamplingParams;
import java.util.Objects;
import java.util.Set;

/**
 * One request as the scheduler sees it: already tokenized and validated by the caller.
 *
 * @param id unique among requests in flight
 * @param prompt prompt token ids, at least one
 * @param maxTokens most tokens to generate, at least one
 * @param priority scheduling class
 * @param sampling how the engine picks tokens for it
 * @param stopTokens tokens that end it with {@link FinishReason#STOP} (the stop token is reported)
 * @param deadlineNanos on the scheduler's clock; {@link Long#MAX_VALUE} for none
 */
public record GenerationRequest(
    String id, int[] prompt, int maxTokens, Priority priority, SamplingParams sampling, Set<Integer> stopTokens,
    long deadlineNanos) {

  public GenerationRequest {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(priority, "priority");
    Objects.requireNonNull(sampling, "sampling");
    if (prompt.length == 0) {
      throw new IllegalArgumentException("prompt must have at least one token");
    }
    if (maxTokens <= 0) {
      throw new IllegalArgumentException("max_tokens must be at least 1, got " + maxTokens);
    }
    prompt = prompt.clone();
    stopTokens = Set.copyOf(stopTokens);
  }

  @Override
  public int[] prompt() {
    return prompt.clone();
  }
}
