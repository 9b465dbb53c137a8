package io.infermesh.edge.serve;

/**
 * Token accounting of one request.
 *
 * @param promptTokens tokens in the rendered prompt
 * @param completionTokens tokens generated
 * @param cachedTokens prompt tokens served from a cache instead of computed: the response cache, or
 *     the core's KV prefix cache (its {@code usage.cached_tokens}); {@link #CACHED_UNREPORTED} for the
 *     edge's own llama.cpp answers, whose binding (de.kherud 4.2.0) does not pass on the slot cache's
 *     {@code tokens_cached}
 */
public record Usage(int promptTokens, int completionTokens, int cachedTokens) {
  /** The engine does not say how many prompt tokens it took from its cache: none is reported. */
  public static final int CACHED_UNREPORTED = -1;

  public int totalTokens() {
    return promptTokens + completionTokens;
  }
}
