package io.infermesh.edge.serve;

import java.util.List;

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
 */
public record SamplingRequest(
    Integer maxTokens, Double temperature, Double topP, Integer topK, Long seed, List<String> stop) {
  /** Nothing set: the server's defaults. */
  public static final SamplingRequest DEFAULTS = new SamplingRequest(null, null, null, null, null, List.of());

  public SamplingRequest {
    stop = stop == null ? List.of() : List.copyOf(stop);
  }
}
