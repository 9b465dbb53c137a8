package io.infermesh.core.bench;

/** One engine of the comparison, already loaded; runs concurrent greedy streams on demand. */
interface Contender extends AutoCloseable {

  /** Column title. */
  String name();

  /**
   * Generates {@code maxTokens} greedy tokens (no stop on end-of-sequence) for each prompt, all
   * prompts at once.
   */
  DecodeRun run(int[][] prompts, int maxTokens) throws Exception;
}
