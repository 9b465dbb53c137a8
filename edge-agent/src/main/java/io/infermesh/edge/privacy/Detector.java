package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * Finds one kind of sensitive data in a text.
 *
 * <p>Implementations are immutable and thread-safe, and take time linear in the text's length
 * (bounded work per character, whatever the input). They may report overlapping matches; the
 * {@link Masker} resolves overlaps across detectors.
 */
public interface Detector {
  /**
   * The kind this detector reports, upper case letters, digits and {@code _} (it names placeholders
   * such as {@code <EMAIL_1>}, audit counts and block reasons).
   */
  String kind();

  /**
   * Appends each match in {@code text} to {@code out}, in any order.
   *
   * @throws DetectorBudgetExceededException when a detector that bounds its own work (a tenant's
   *     regex) runs out of it
   */
  void detect(CharSequence text, List<Match> out);

  /**
   * Where a detector matched: {@code text.subSequence(start, end)} is the sensitive value.
   *
   * @param start first char, inclusive
   * @param end last char, exclusive; greater than start
   * @param kind the detector's kind
   */
  record Match(int start, int end, String kind) {
    public Match {
      if (start < 0 || end <= start) {
        throw new IllegalArgumentException("need 0 <= start < end, got " + start + ", " + end);
      }
      requireNonNull(kind, "kind");
    }
  }
}
