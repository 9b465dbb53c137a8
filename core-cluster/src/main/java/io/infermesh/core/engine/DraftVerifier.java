package io.infermesh.core.engine;

import java.util.Arrays;

/**
 * Keeps the longest prefix of a draft that a sequence's own sampler would have produced, from one
 * forward pass over prompt + draft: row {@code i} of the logits predicts the token after draft
 * token {@code i - 1} (row 0: after the prompt). Walking the rows in order, each draft token goes
 * through {@link Sampler#verify} with the sampler in exactly the state normal decoding would have
 * (penalty counts, grammar constraint, random stream): an accepted token moves on to the next row;
 * the first rejection yields the sampler's replacement and ends the walk; a fully accepted draft
 * earns one more token sampled from the last row. So the output distribution is the sampler's own,
 * token for token under greedy decoding.
 *
 * <p>Stateless; the sampler it is given is not thread-safe.
 */
final class DraftVerifier {
  private DraftVerifier() {}

  /**
   * The accepted draft tokens followed by one more token: between 1 and {@code draft.length + 1}
   * tokens; the accepted prefix is the longest one that equals the output's first tokens.
   *
   * @param logits {@code (rows, vocab)} flattened, row {@code i} at {@code from + i * vocab}, for
   *     {@code rows = draft.length + 1}
   */
  static int[] verify(Sampler sampler, int[] draft, float[] logits, int from, int vocab) {
    if (logits.length < from + (long) (draft.length + 1) * vocab) {
      throw new IllegalArgumentException("a draft of " + draft.length + " tokens needs " + (draft.length + 1)
          + " rows of logits");
    }
    int[] out = new int[draft.length + 1];
    for (int i = 0; i < draft.length; i++) {
      float[] row = Arrays.copyOfRange(logits, from + i * vocab, from + (i + 1) * vocab);
      out[i] = sampler.verify(row, draft[i]);
      if (out[i] != draft[i]) {
        return Arrays.copyOf(out, i + 1);
      }
    }
    out[draft.length] = sampler.sample(Arrays.copyOfRange(logits, from + draft.length * vocab,
        from + (draft.length + 1) * vocab));
    return out;
  }
}
