package io.infermesh.core.schedule;

import io.infermesh.core.engine.SamplingParams;
import java.util.List;

/**
 * The work of one engine step: for each scheduled sequence, the tokens to run and where their
 * keys/values live. Sequences in a plan are distinct.
 *
 * @param entries in a stable order; sampled tokens are reported back in the same order
 */
public record StepPlan(List<Entry> entries) {

  public StepPlan {
    entries = List.copyOf(entries);
  }

  /**
   * One sequence in the step.
   *
   * @param requestId the sequence: the request's id for choice 0, {@link GenerationRequest#sequenceId} for others
   * @param tokens the new tokens to compute (a prefill chunk, or the one last token of a decode)
   * @param startPosition position of {@code tokens[0]}
   * @param writeSlots KV slot of each new token
   * @param readSlots KV slots of positions {@code 0 .. startPosition + tokens.length - 1}
   * @param samples whether this step ends the sequence's known tokens, so a token is sampled
   * @param sampling how to sample it
   */
  public record Entry(String requestId, int[] tokens, int startPosition, long[] writeSlots, long[] readSlots,
      boolean samples, SamplingParams sampling) {}

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  /** New tokens in the step. */
  public int tokenCount() {
    return entries.stream().mapToInt(e -> e.tokens().length).sum();
  }
}
