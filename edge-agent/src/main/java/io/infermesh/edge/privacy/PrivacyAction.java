package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

/** What a tenant's policy does with a detector's matches. */
public enum PrivacyAction {
  /** Replace each value with a stable placeholder ({@code <EMAIL_1>}) and restore it in the answer. */
  MASK,
  /** Refuse the request ({@link SensitiveDataBlockedException}, naming the detector, never the value). */
  BLOCK,
  /** Leave the text as it is, and tell the caller the request must not leave the edge. */
  LOCAL_ONLY;

  /** Parses the config spelling: {@code mask}, {@code block}, {@code local_only}. */
  public static PrivacyAction parse(String value) {
    return switch (requireNonNull(value, "value")) {
      case "mask" -> MASK;
      case "block" -> BLOCK;
      case "local_only" -> LOCAL_ONLY;
      default -> throw new IllegalArgumentException(
          "unknown privacy action '" + value + "': use mask, block or local_only");
    };
  }
}
