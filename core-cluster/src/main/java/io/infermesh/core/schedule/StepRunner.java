package io.infermesh.core.schedule;

/**
 * Runs planned steps on an engine. {@link #run} and {@link #release} are called from the batch
 * loop's thread only; the completion may come from any thread.
 */
public interface StepRunner {

  /**
   * Runs {@code plan}; {@code done} hears exactly once either one sampled token per entry with
   * {@code samples() == true}, in plan order, or the failure (the plan's requests then fail). A
   * local engine computes on the calling thread and completes before returning; a pipeline
   * computes its own stage here and completes when the last stage answers.
   */
  void run(StepPlan plan, StepCompletion done);

  /**
   * The sequence (one choice of a request, {@link GenerationRequest#sequenceId}) left the
   * scheduler; drop whatever is kept for it (its sampler).
   */
  void release(String requestId);

  /**
   * How many plans may be in flight at once: 1 runs steps one after the other; a pipeline of
   * {@code n} stages keeps up to {@code n} micro-batches moving.
   */
  default int maxInFlight() {
    return 1;
  }

  /** Whether steps can run now (false while a pipeline stage is unreachable). */
  default boolean available() {
    return true;
  }

  /** The outcome of one step. Implementations are thread-safe. */
  interface StepCompletion {

    /** The step ran (no draft accepted); {@code sampled} as described in {@link StepRunner#run}. */
    default void completed(int[] sampled) {
      completed(sampled, new int[sampled.length][0]);
    }

    /**
     * The step ran and verified drafts: {@code accepted[k]} holds the draft tokens accepted for the
     * {@code k}-th sampling entry (empty for an entry without a draft), which come before its
     * {@code sampled[k]} (the replacement of the first rejected draft token, or the token after a
     * fully accepted draft).
     */
    void completed(int[] sampled, int[][] accepted);

    /** The step failed; its requests fail. */
    void failed(Throwable cause);
  }
}
