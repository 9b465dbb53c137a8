package io.infermesh.edge.route;

/** Turns text into a fixed-length vector (e.g. the edge model in embedding mode). Thread-safe. */
@FunctionalInterface
public interface Embedder {
  /** The embedding of {@code text}; the same length for every input. */
  float[] embed(String text);
}
