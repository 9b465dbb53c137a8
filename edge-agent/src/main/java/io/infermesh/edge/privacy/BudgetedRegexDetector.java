package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tenant's regex, run over a view of the text that counts every char the regex engine reads and
 * throws {@link DetectorBudgetExceededException} past {@code perChar × length + base} reads. That
 * turns catastrophic backtracking ({@code (a+)+$} on a run of {@code a}) into a refusal in bounded
 * time instead of a thread stuck for minutes.
 */
final class BudgetedRegexDetector implements Detector {
  private final String kind;
  private final Pattern pattern;
  private final long perChar;
  private final long base;

  BudgetedRegexDetector(String kind, Pattern pattern, long perChar, long base) {
    this.kind = requireNonNull(kind, "kind");
    this.pattern = requireNonNull(pattern, "pattern");
    this.perChar = perChar;
    this.base = base;
  }

  @Override
  public String kind() {
    return kind;
  }

  @Override
  public void detect(CharSequence text, List<Match> out) {
    long budget = perChar * text.length() + base;
    Matcher m = pattern.matcher(new Budgeted(text, budget));
    while (m.find()) {
      if (m.end() > m.start()) {
        out.add(new Match(m.start(), m.end(), kind));
      }
    }
  }

  @Override
  public String toString() {
    return kind;
  }

  /** The text, read through a counter. Not thread-safe: one per run. */
  private final class Budgeted implements CharSequence {
    private final CharSequence text;
    private final long budget;
    private long reads;

    Budgeted(CharSequence text, long budget) {
      this.text = text;
      this.budget = budget;
    }

    @Override
    public int length() {
      return text.length();
    }

    @Override
    public char charAt(int index) {
      if (++reads > budget) {
        throw new DetectorBudgetExceededException(kind, budget);
      }
      return text.charAt(index);
    }

    @Override
    public CharSequence subSequence(int start, int end) {
      return text.subSequence(start, end);
    }

    @Override
    public String toString() {
      return text.toString();
    }
  }
}
