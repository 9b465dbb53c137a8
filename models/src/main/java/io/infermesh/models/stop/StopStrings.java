package io.infermesh.models.stop;

import java.util.List;
import java.util.Optional;

/**
 * The bounds on a request's stop strings, shared by every tier that accepts them (the edge's
 * HTTP and gRPC APIs and the core's): at most {@link #MAX_COUNT} sequences, as OpenAI allows, each
 * non-empty, well-formed Unicode and at most {@link #MAX_BYTES} bytes of UTF-8. The byte bound is
 * ours (OpenAI documents none): it caps what a {@link StopMatcher} holds back from a stream and
 * what building one costs. Stateless; thread-safe.
 */
public final class StopStrings {
  /** The most stop sequences a request may carry (OpenAI's limit). */
  public static final int MAX_COUNT = 4;
  /** The longest stop sequence, in UTF-8 bytes. */
  public static final int MAX_BYTES = 1024;

  private StopStrings() {}

  /**
   * What is wrong with {@code stops}, or empty when they are within bounds. The answer names the
   * offending element by index (the caller supplies its field name) and never echoes it. Linear
   * in the total length.
   */
  public static Optional<Problem> check(List<String> stops) {
    if (stops.size() > MAX_COUNT) {
      return Optional.of(new Problem(-1, "at most " + MAX_COUNT + " stop sequences are allowed, got " + stops.size()));
    }
    for (int i = 0; i < stops.size(); i++) {
      String s = stops.get(i);
      if (s.isEmpty()) {
        return Optional.of(new Problem(i, "must not be empty"));
      }
      long bytes = utf8Bytes(s);
      if (bytes < 0) {
        return Optional.of(new Problem(i, "must be well-formed Unicode (it holds an unpaired surrogate)"));
      }
      if (bytes > MAX_BYTES) {
        return Optional.of(new Problem(i, "must be at most " + MAX_BYTES + " bytes of UTF-8, got " + bytes));
      }
    }
    return Optional.empty();
  }

  /**
   * One broken bound.
   *
   * @param index the offending sequence, or -1 when the list as a whole is wrong (too many)
   * @param reason what is wrong, without the field name
   */
  public record Problem(int index, String reason) {
    /** The field as {@code field} or {@code field[i]}. */
    public String field(String field) {
      return index < 0 ? field : field + "[" + index + "]";
    }
  }

  /** The UTF-8 length of {@code s}, or -1 when it holds an unpaired surrogate. */
  public static long utf8Bytes(CharSequence s) {
    long bytes = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return -1;
        }
        bytes += 4;
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return -1;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }
}
