package io.infermesh.core.engine;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One {@link Sampler} per request, created on its first sampled token and kept (with its random
 * stream) until the request is released, so a seeded request draws the same tokens however it is
 * batched, preempted or placed. Not thread-safe: confined to the thread that samples.
 */
public final class Samplers {
  private final Map<String, Sampler> samplers = new HashMap<>();

  /** The next token of {@code requestId} from {@code logits[from, from + vocab)}. */
  public int sample(String requestId, SamplingParams params, float[] logits, int from, int vocab) {
    float[] row = from == 0 && logits.length == vocab ? logits : Arrays.copyOfRange(logits, from, from + vocab);
    return samplers.computeIfAbsent(requestId, id -> new Sampler(params)).sample(row);
  }

  /**
   * {@link DraftVerifier#verify} for {@code requestId}: the accepted draft tokens and one more, from
   * {@code draft.length + 1} rows of {@code logits} starting at {@code from}.
   */
  public int[] verify(String requestId, SamplingParams params, int[] draft, float[] logits, int from, int vocab) {
    return DraftVerifier.verify(samplers.computeIfAbsent(requestId, id -> new Sampler(params)), draft, logits, from,
        vocab);
  }

  /**
   * The log-probabilities of {@code requestId}'s last sampled token, when its parameters ask for
   * them; empty otherwise (or for an unknown id).
   */
  public Optional<TokenLogprobs> lastLogprobs(String requestId) {
    Sampler s = samplers.get(requestId);
    return s == null ? Optional.empty() : Optional.ofNullable(s.lastLogprobs());
  }

  /** Forgets {@code requestId}; unknown ids are ignored. */
  public void release(String requestId) {
    samplers.remove(requestId);
  }

  /** Forgets every request. */
  public void clear() {
    samplers.clear();
  }

  /** Requests with a sampler. */
  public int size() {
    return samplers.size();
  }
}
