package io.infermesh.edge.serve;

import java.util.List;
import java.util.Map;

/**
 * Sampling controls as the caller sent them; {@code null} means "not set". Validated into {@code
 * SamplingParams} by {@link RequestValidator}.
 *
 * @param maxTokens most tokens to generate
 * @param temperature softmax temperature
 * @param topP nucleus mass
 * @param topK top-k cut
 * @param seed sampler seed
 * @param stop stop strings (never null; empty when none)
 * @param presencePenalty OpenAI's presence penalty
 * @param frequencyPenalty OpenAI's frequency penalty
 * @param logitBias token id → bias (never null; empty when none)
 * @param topLogprobs null when no log-probabilities are asked for; else how many alternatives per
 *     token (0 for the sampled token's alone)
 */
public record SamplingRequest(
    Integer maxTokens, Double temperature, Double topP, Integer topK, Long seed, List<String> stop,
    Double presencePenalty, Double frequencyPenalty, Map<Integer, Double> logitBias, Integer topLogprobs) {
  /** Nothing set: the server's defaults. */
  public static final SamplingRequest DEFAULTS = new SamplingRequest(null, null, null, null, null, List.of());

  /** No penalties and no log-probabilities. */
  public SamplingRequest(Integer maxTokens, Double temperature, Double topP, Integer topK, Long seed,
      List<String> stop) {
    this(maxTokens, temperature, topP, topK, seed, stop, null, null, Map.of(), null);
  }

  public SamplingRequest {
    stop = stop == null ? List.of() : List.copyOf(stop);
    logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
  }

  /** These controls with the penalties and log-probability request set. */
  public SamplingRequest with(Double presence, Double frequency, Map<Integer, Double> bias, Integer logprobs) {
    return new SamplingRequest(maxTokens, temperature, topP, topK, seed, stop, presence, frequency, bias, logprobs);
  }

  /** These controls with {@code newSeed}. */
  public SamplingRequest withSeed(Long newSeed) {
    return new SamplingRequest(maxTokens, temperature, topP, topK, newSeed, stop, presencePenalty, frequencyPenalty,
        logitBias, topLogprobs);
  }

  /** Whether the caller asked for log-probabilities (only the core can give them). */
  public boolean wantsLogprobs() {
    return topLogprobs != null;
  }
}
