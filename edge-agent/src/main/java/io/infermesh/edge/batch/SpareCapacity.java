package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.AdmissionQueue;
import java.util.function.BooleanSupplier;

/**
 * The rule for when a batch line may start: <b>no request is waiting for a generation slot, and a
 * slot is free</b> ({@link AdmissionQueue#waiting()} is 0 and {@link AdmissionQueue#running()} is
 * below {@link AdmissionQueue#slots()}). So a batch line never queues in front of anyone, a queue of
 * interactive requests stops new lines at once, and an interactive request that arrives while lines
 * run waits at most for the end of one line, since freed slots go to the best priority and lines
 * run at {@code low}. Lines the router sends to the core take no edge slot but are started under
 * the same rule.
 */
public final class SpareCapacity implements BooleanSupplier {
  private final AdmissionQueue admission;

  private SpareCapacity(AdmissionQueue admission) {
    this.admission = requireNonNull(admission, "admission");
  }

  /** The rule over {@code admission}. */
  public static SpareCapacity of(AdmissionQueue admission) {
    return new SpareCapacity(admission);
  }

  @Override
  public boolean getAsBoolean() {
    return admission.waiting() == 0 && admission.running() < admission.slots();
  }
}
