package io.infermesh.edge.batch;

import java.util.Locale;

/** A batch's state, as OpenAI names it; the last five are final. */
public enum BatchStatus {
  VALIDATING, IN_PROGRESS, FINALIZING, CANCELLING, COMPLETED, FAILED, EXPIRED, CANCELLED;

  /** The name on the wire and in the store: {@code in_progress}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The status stored as {@code name}. */
  public static BatchStatus of(String name) {
    return valueOf(name.toUpperCase(Locale.ROOT));
  }

  /** Whether nothing more happens to the batch. */
  public boolean terminal() {
    return ordinal() >= COMPLETED.ordinal();
  }
}
