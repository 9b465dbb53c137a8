package io.infermesh.core.schedule;

import io.infermesh.core.engine.SamplingParams;
import java.util.Arrays;
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
   * @param draftTokens how many of the last {@code tokens} are a draft to verify (0 for none): the
   *     runner scores them in this step and reports the accepted ones ({@link
   *     StepRunner.StepCompletion#completed(int[], int[][])}); only with {@code samples}
   */
  public record Entry(String requestId, int[] tokens, int startPosition, long[] writeSlots, long[] readSlots,
      boolean samples, SamplingParams sampling, int draftTokens) {

    public Entry {
      if (draftTokens < 0 || draftTokens >= tokens.length || draftTokens > 0 && !samples) {
        throw new IllegalArgumentException("draftTokens must be in [0, " + tokens.length + ") and only on a sampling"
            + " entry, got " + draftTokens);
      }
    }

    /** An entry without a draft. */
    public Entry(String requestId, int[] tokens, int startPosition, long[] writeSlots, long[] readSlots,
        boolean samples, SamplingParams sampling) {
      this(requestId, tokens, startPosition, writeSlots, readSlots, samples, sampling, 0);
    }

    /** The draft tokens to verify, the last {@link #draftTokens} of {@link #tokens}. */
    public int[] draft() {
      return Arrays.copyOfRange(tokens, tokens.length - draftTokens, tokens.length);
    }
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  /** New tokens in the step. */
  public int tokenCount() {
    return entries.stream().mapToInt(e -> e.tokens().length).sum();
  }
}
