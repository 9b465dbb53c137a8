package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Validated sampling controls of one generation, with OpenAI semantics.
 *
 * @param maxTokens most tokens to generate, at least 1
 * @param temperature in [0, 2]; 0 is greedy decoding
 * @param topP nucleus mass in (0, 1]
 * @param topK the k most likely tokens; 0 disables the cut
 * @param seed the sampler seed; empty for a random one
 * @param stop up to 4 non-empty strings that end generation (not returned)
 * @param penalties logit bias and presence/frequency penalties
 * @param grammar a llama.cpp GBNF grammar every answer must match (structured output); empty for none
 */
public record SamplingParams(
    int maxTokens, float temperature, float topP, int topK, OptionalLong seed, List<String> stop,
    Penalties penalties, Optional<String> grammar) {
  /** The most stop strings a request may carry. */
  public static final int MAX_STOP_STRINGS = io.infermesh.models.stop.StopStrings.MAX_COUNT;

  /** No penalties. */
  public SamplingParams(int maxTokens, float temperature, float topP, int topK, OptionalLong seed, List<String> stop) {
    this(maxTokens, temperature, topP, topK, seed, stop, Penalties.NONE);
  }

  /** Parameters without a grammar. */
  public SamplingParams(int maxTokens, float temperature, float topP, int topK, OptionalLong seed, List<String> stop,
      Penalties penalties) {
    this(maxTokens, temperature, topP, topK, seed, stop, penalties, Optional.empty());
  }

  public SamplingParams {
    requireNonNull(seed, "seed");
    requireNonNull(penalties, "penalties");
    requireNonNull(grammar, "grammar");
    stop = List.copyOf(requireNonNull(stop, "stop"));
    if (maxTokens < 1) {
      throw new IllegalArgumentException("maxTokens must be at least 1, got " + maxTokens);
    }
    if (!(temperature >= 0 && temperature <= 2)) {
      throw new IllegalArgumentException("temperature must be in [0, 2], got " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("topK must not be negative, got " + topK);
    }
    if (stop.size() > MAX_STOP_STRINGS || stop.stream().anyMatch(String::isEmpty)) {
      throw new IllegalArgumentException("stop must hold at most 4 non-empty strings, got " + stop);
    }
  }

  /** Whether the same request yields the same answer on the same model (greedy or seeded). */
  public boolean deterministic() {
    return temperature == 0f || seed.isPresent();
  }

  /** These parameters with {@code maxTokens} replaced. */
  public SamplingParams withMaxTokens(int newMaxTokens) {
    return new SamplingParams(newMaxTokens, temperature, topP, topK, seed, stop, penalties, grammar);
  }

  /** These parameters with {@code newSeed}. */
  public SamplingParams withSeed(OptionalLong newSeed) {
    return new SamplingParams(maxTokens, temperature, topP, topK, newSeed, stop, penalties, grammar);
  }

  /** These parameters with every answer constrained to {@code gbnf} (empty: unconstrained). */
  public SamplingParams withGrammar(Optional<String> gbnf) {
    return new SamplingParams(maxTokens, temperature, topP, topK, seed, stop, penalties, gbnf);
  }
}
