package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

/**
 * A request holds data that its tenant's policy blocks. The message names the detector's kind and
 * never the value, so it is safe to return to the client and to log.
 */
public final class SensitiveDataBlockedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String kind;

  SensitiveDataBlockedException(String kind, String why) {
    super(requireNonNull(why, "why"), null, false, false);
    this.kind = requireNonNull(kind, "kind");
  }

  /** The kind of the detector that blocked the request, e.g. {@code CREDIT_CARD}. */
  public String kind() {
    return kind;
  }
}
