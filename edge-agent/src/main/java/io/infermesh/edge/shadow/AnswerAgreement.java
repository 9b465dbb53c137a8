package io.infermesh.edge.shadow;

import static java.util.Objects.requireNonNull;

/**
 * How far a shadow version's answer agrees with the answer the caller got.
 *
 * <ul>
 *   <li>{@code exact}: the two texts are equal, character for character;
 *   <li>{@code prefix}: word-level prefix agreement, the leading words (whitespace-separated) the
 *       two share divided by the word count of the longer one, in [0, 1]: 1 for equal word
 *       sequences (and for two empty answers), 0 when the first words differ. It rewards the
 *       shadow for following the same path as long as it does, which is what greedy decoding of
 *       two close model versions shows, and is blind to a reworded but equivalent answer.
 * </ul>
 *
 * Words rather than model tokens because the edge sees the caller's answer as text (the core's
 * token ids are not passed on through the completion stream). Linear in the two texts.
 *
 * @param exact whether the texts are equal
 * @param prefix shared leading words / words of the longer answer
 */
public record AnswerAgreement(boolean exact, double prefix) {

  public AnswerAgreement {
    if (!(prefix >= 0 && prefix <= 1)) {
      throw new IllegalArgumentException("prefix must be in [0, 1], was " + prefix);
    }
  }

  /** The agreement of {@code shadow} with {@code primary}. */
  public static AnswerAgreement of(String primary, String shadow) {
    requireNonNull(primary, "primary");
    requireNonNull(shadow, "shadow");
    String[] a = words(primary);
    String[] b = words(shadow);
    int longer = Math.max(a.length, b.length);
    int shared = 0;
    while (shared < a.length && shared < b.length && a[shared].equals(b[shared])) {
      shared++;
    }
    return new AnswerAgreement(primary.equals(shadow), longer == 0 ? 1.0 : (double) shared / longer);
  }

  private static String[] words(String text) {
    String trimmed = text.strip();
    return trimmed.isEmpty() ? new String[0] : trimmed.split("\\s+");
  }
}
