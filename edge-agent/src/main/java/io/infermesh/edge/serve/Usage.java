package io.infermesh.edge.serve;

/**
 * Token accounting of one request.
 *
 * @param promptTokens tokens in the rendered prompt
 * @param completionTokens tokens generated
 * @param cachedTokens prompt tokens served from the response cache instead of computed
 */
public record Usage(int promptTokens, int completionTokens, int cachedTokens) {
  public int totalTokens() {
    return promptTokens + completionTokens;
  }
}
