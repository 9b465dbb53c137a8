package io.infermesh.core.engine;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * OpenAI's logit adjustments, applied before sampling: {@code logit[t] += logitBias[t]
 * - frequency * count(t) - presence * (count(t) > 0)}, where {@code count(t)} is how often token
 * {@code t} occurs in the completion so far (the prompt does not count, as in OpenAI and vLLM).
 *
 * @param presence in [-2, 2]
 * @param frequency in [-2, 2]
 * @param logitBias token id → bias in [-100, 100]
 */
public record Penalties(float presence, float frequency, Map<Integer, Float> logitBias) {
  /** No adjustment. */
  public static final Penalties NONE = new Penalties(0f, 0f, Map.of());

  public Penalties {
    if (!(presence >= -2f && presence <= 2f)) {
      throw new IllegalArgumentException("presence penalty must be in [-2, 2], got " + presence);
    }
    if (!(frequency >= -2f && frequency <= 2f)) {
      throw new IllegalArgumentException("frequency penalty must be in [-2, 2], got " + frequency);
    }
    logitBias = Map.copyOf(requireNonNull(logitBias, "logitBias"));
    for (Map.Entry<Integer, Float> e : logitBias.entrySet()) {
      float b = e.getValue();
      if (e.getKey() < 0 || !(b >= -100f && b <= 100f)) {
        throw new IllegalArgumentException("logit bias must map token ids to [-100, 100], got " + e);
      }
    }
  }

  /** Whether the counts of generated tokens matter (either penalty is non-zero). */
  public boolean countsTokens() {
    return presence != 0f || frequency != 0f;
  }

  /** Whether any logit is adjusted at all. */
  public boolean active() {
    return countsTokens() || !logitBias.isEmpty();
  }
}
