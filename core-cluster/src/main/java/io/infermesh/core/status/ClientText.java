package io.infermesh.core.status;

/**
 * Client-supplied text as it may appear in a status description: at most {@value #MAX_ECHO}
 * characters, then "…". Descriptions travel in the {@code grpc-message} trailer, and gRPC's
 * metadata limit (8 KiB by default) turns a longer one into RESOURCE_EXHAUSTED on the client, hiding
 * the real error; a client's 100 KB string must never be echoed whole. Stateless.
 */
public final class ClientText {
  /** How many characters of a client's string a description repeats. */
  public static final int MAX_ECHO = 64;

  private ClientText() {}

  /** {@code value}, cut to {@value #MAX_ECHO} characters plus "…" when longer. */
  public static String bounded(String value) {
    if (value.length() <= MAX_ECHO) {
      return value;
    }
    int end = MAX_ECHO;
    if (Character.isHighSurrogate(value.charAt(end - 1))) {
      end--; // never split a surrogate pair
    }
    return value.substring(0, end) + "…";
  }

  /** {@link #bounded(String)} in single quotes. */
  public static String quote(String value) {
    return "'" + bounded(value) + "'";
  }
}
