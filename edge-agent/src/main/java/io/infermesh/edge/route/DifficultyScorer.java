package io.infermesh.edge.route;

/**
 * How hard a request looks, as a score in {@code [0, 1]} (higher = more likely to need the core).
 * Implementations must be thread-safe; {@link #score} runs on request threads.
 */
@FunctionalInterface
public interface DifficultyScorer {
  /** The difficulty of {@code request} in {@code [0, 1]}. */
  double score(RouteRequest request);
}
