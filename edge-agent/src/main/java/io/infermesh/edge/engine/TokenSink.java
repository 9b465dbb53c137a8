package io.infermesh.edge.engine;

/**
 * Receives generated text as it is produced, on the generating thread. A sink that throws stops
 * the generation (the engine cancels it and rethrows).
 */
@FunctionalInterface
public interface TokenSink {
  /** Text produced since the previous call; never empty, UTF-8 complete where the model allows. */
  void accept(String text);
}
