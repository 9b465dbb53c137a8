package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.route.EdgeLoad;
import java.time.Duration;

/**
 * The edge's queue-wait estimate for the router: requests waiting ahead, divided by the slots,
 * times an exponentially weighted mean of how long a local generation takes ({@code alpha = 0.2}).
 * Thread-safe: the mean is a volatile double updated under {@code this}.
 */
public final class LoadEstimate implements EdgeLoad {
  private final AdmissionQueue admission;
  private volatile double meanNanos; // @GuardedBy("this") for writes

  public LoadEstimate(AdmissionQueue admission) {
    this.admission = requireNonNull(admission, "admission");
  }

  /** Records how long one local generation held its slot. */
  public synchronized void record(long nanos) {
    meanNanos = meanNanos == 0 ? nanos : 0.8 * meanNanos + 0.2 * nanos;
  }

  @Override
  public Duration estimatedWait() {
    int waiting = admission.waiting();
    if (waiting == 0) {
      return Duration.ZERO;
    }
    return Duration.ofNanos((long) ((waiting + 1.0) / admission.slots() * meanNanos));
  }
}
