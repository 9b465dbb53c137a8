package io.infermesh.core.engine;

import static java.util.Objects.requireNonNull;

/**
 * The log-probability of one sampled token and of the most likely tokens at its position, from
 * the log-softmax of the adjusted logits (after logit bias and penalties, before temperature and
 * the top-k/top-p cuts, as OpenAI reports them).
 *
 * @param token the sampled token id
 * @param logprob its natural log-probability
 * @param topTokens the most likely token ids, most likely first (possibly empty)
 * @param topLogprobs their log-probabilities, same length as {@code topTokens}
 */
public record TokenLogprobs(int token, float logprob, int[] topTokens, float[] topLogprobs) {
  public TokenLogprobs {
    requireNonNull(topTokens, "topTokens");
    requireNonNull(topLogprobs, "topLogprobs");
    if (topTokens.length != topLogprobs.length) {
      throw new IllegalArgumentException("topTokens and topLogprobs differ in length");
    }
  }
}
