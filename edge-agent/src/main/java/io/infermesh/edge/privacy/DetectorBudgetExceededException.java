package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

/**
 * A detector gave up before it finished reading a text (a tenant regex that backtracks too much).
 * The masker fails closed on it: the request is refused as if the detector had blocked it.
 */
public final class DetectorBudgetExceededException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String kind;

  DetectorBudgetExceededException(String kind, long budget) {
    super("detector " + requireNonNull(kind, "kind") + " exceeded its work budget of " + budget
        + " character reads");
    this.kind = kind;
  }

  /** The detector's kind. */
  public String kind() {
    return kind;
  }
}
