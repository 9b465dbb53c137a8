package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.route.RouteDecision;
import java.util.List;

/**
 * The vectors of one embeddings request.
 *
 * @param vectors one per input, in input order, each of unit L2 length
 * @param promptTokens tokens read, summed over the inputs
 * @param model the model that computed them
 * @param route where they were computed ({@code edge} or {@code core}) and why
 */
public record Embeddings(List<float[]> vectors, int promptTokens, String model, RouteDecision route) {
  public Embeddings {
    vectors = List.copyOf(vectors);
    requireNonNull(model, "model");
    requireNonNull(route, "route");
  }
}
