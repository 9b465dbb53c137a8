package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * OpenAI's logit adjustments: a bias per token id, and presence/frequency penalties on the tokens
 * the completion already holds ({@code logit[t] += bias[t] - frequency * count(t) - presence *
 * (count(t) > 0)}).
 *
 * @param presence presence penalty in [-2, 2]
 * @param frequency frequency penalty in [-2, 2]
 * @param logitBias token id (in the serving model's vocabulary) → bias in [-100, 100], at most
 *     {@link #MAX_LOGIT_BIAS} entries
 */
public record Penalties(float presence, float frequency, Map<Integer, Float> logitBias) {
  /** The most logit_bias entries a request may carry (OpenAI's limit). */
  public static final int MAX_LOGIT_BIAS = 300;

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
    if (logitBias.size() > MAX_LOGIT_BIAS) {
      throw new IllegalArgumentException("at most " + MAX_LOGIT_BIAS + " logit biases, got " + logitBias.size());
    }
    for (Map.Entry<Integer, Float> e : logitBias.entrySet()) {
      float b = e.getValue();
      if (e.getKey() < 0 || !(b >= -100f && b <= 100f)) {
        throw new IllegalArgumentException("logit bias must map token ids to [-100, 100], got " + e);
      }
    }
  }

  /** Whether anything is adjusted. */
  public boolean active() {
    return presence != 0f || frequency != 0f || !logitBias.isEmpty();
  }
}
