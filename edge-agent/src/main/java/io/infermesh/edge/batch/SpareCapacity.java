package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.AdmissionQueue;
import java.util.function.IntPredicate;

/**
 * The rule for when a batch line may start, given how many lines this node runs now: <b>no
 * interactive request is in the engine</b> (none waits for a slot, and the slots in use are at most
 * the batch's own lines) <b>and one slot stays free</b> (lines use at most {@code slots - 1} slots,
 * or the one slot of a single-slot engine). So a batch line never queues in front of anyone, an
 * interactive request that arrives finds a free slot at once and stops further lines until it ends,
 * and what it shares the engine with is at most the lines already running (each short). Lines the
 * router sends to the core take no edge slot but are counted as running, so while one is out, an
 * interactive request may overlap a new line. Thread-safe (it reads the queue's counters).
 */
public final class SpareCapacity implements IntPredicate {
  private final AdmissionQueue admission;

  private SpareCapacity(AdmissionQueue admission) {
    this.admission = requireNonNull(admission, "admission");
  }

  /** The rule over {@code admission}. */
  public static SpareCapacity of(AdmissionQueue admission) {
    return new SpareCapacity(admission);
  }

  /** Whether another line may start while {@code linesRunning} of this node's lines run. */
  @Override
  public boolean test(int linesRunning) {
    int running = admission.running();
    return admission.waiting() == 0 && running <= linesRunning && running < Math.max(1, admission.slots() - 1);
  }
}
