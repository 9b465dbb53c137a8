package io.infermesh.core.schedule;

import io.infermesh.core.engine.SamplingParams;
import java.util.Objects;
import java.util.Set;

/**
 * One request as the scheduler sees it: already tokenized and validated by the caller.
 *
 * @param id unique among requests in flight
 * @param prompt prompt token ids, at least one
 * @param maxTokens most tokens to generate per choice, at least one
 * @param priority scheduling class
 * @param sampling how the engine picks tokens for it (choice {@code i} with seed {@code seed + i})
 * @param stopTokens tokens that end a choice with {@link FinishReason#STOP} (the stop token is reported)
 * @param deadlineNanos on the scheduler's clock; {@link Long#MAX_VALUE} for none
 * @param choices independent completions of the prompt (OpenAI {@code n}), at least one; they share
 *     one prefill of the prompt
 * @param draft proposed first tokens of the answer (an edge's draft), at most {@code maxTokens}, empty
 *     for none; scored with the prompt's last prefill chunk and kept as far as the engine's own
 *     sampler agrees (it never changes the answer). Only a request with one choice carries one.
 */
public record GenerationRequest(
    String id, int[] prompt, int maxTokens, Priority priority, SamplingParams sampling, Set<Integer> stopTokens,
    long deadlineNanos, int choices, int[] draft) {

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
    if (choices <= 0) {
      throw new IllegalArgumentException("choices must be at least 1, got " + choices);
    }
    if (draft.length > maxTokens) {
      throw new IllegalArgumentException("a draft of " + draft.length + " tokens exceeds max_tokens " + maxTokens);
    }
    if (draft.length > 0 && choices != 1) {
      throw new IllegalArgumentException("a draft needs a request with one choice, got " + choices);
    }
    prompt = prompt.clone();
    draft = draft.clone();
    stopTokens = Set.copyOf(stopTokens);
  }

  /** A request without a draft. */
  public GenerationRequest(String id, int[] prompt, int maxTokens, Priority priority, SamplingParams sampling,
      Set<Integer> stopTokens, long deadlineNanos, int choices) {
    this(id, prompt, maxTokens, priority, sampling, stopTokens, deadlineNanos, choices, new int[0]);
  }

  /** A request for one choice. */
  public GenerationRequest(String id, int[] prompt, int maxTokens, Priority priority, SamplingParams sampling,
      Set<Integer> stopTokens, long deadlineNanos) {
    this(id, prompt, maxTokens, priority, sampling, stopTokens, deadlineNanos, 1);
  }

  /** This request with {@code n} choices. */
  public GenerationRequest withChoices(int n) {
    return new GenerationRequest(id, prompt, maxTokens, priority, sampling, stopTokens, deadlineNanos, n, draft);
  }

  /** This request with {@code tokens} as its draft. */
  public GenerationRequest withDraft(int[] tokens) {
    return new GenerationRequest(id, prompt, maxTokens, priority, sampling, stopTokens, deadlineNanos, choices, tokens);
  }

  @Override
  public int[] prompt() {
    return prompt.clone();
  }

  @Override
  public int[] draft() {
    return draft.clone();
  }

  /**
   * The id of choice {@code choice}'s sequence, which keys it in plans ({@link StepPlan.Entry#requestId})
   * and in the runner ({@link StepRunner#release}): the request id for choice 0, {@code <id>#<choice>}
   * for the others.
   */
  public String sequenceId(int choice) {
    return sequenceId(id, choice);
  }

  /** {@link #sequenceId(int)} of request {@code requestId}. */
  public static String sequenceId(String requestId, int choice) {
    return choice == 0 ? requestId : requestId + "#" + choice;
  }

  /** The sampling of choice {@code choice}: its own random stream, seed {@code seed + choice}. */
  SamplingParams sampling(int choice) {
    return choice == 0 ? sampling : sampling.withSeed(sampling.seed() + choice);
  }
}
