package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A detector made of a start test, a candidate pattern tried where the test passes, and a check on
 * each candidate. Linear time rests on the pattern: every built-in one repeats only a bounded number
 * of times and its start test fails inside a run of the chars it could start with, so each start
 * position costs at most the longest candidate. {@code DetectorWorkTest} counts the character reads.
 */
final class RegexDetector implements Detector {
  /** Accepts a candidate and says where the value ends: {@code -1} to reject it. */
  @FunctionalInterface
  interface Check {
    int end(CharSequence text, int start, int end);
  }

  /**
   * Whether a candidate can start at {@code i}: a test of a char or two, run in a plain loop so that
   * the regex engine is entered only where it might match (entering it costs far more than the test).
   */
  @FunctionalInterface
  interface Start {
    boolean at(CharSequence text, int i);
  }

  private final String kind;
  private final Pattern pattern;
  private final Start start;
  private final Check check;

  RegexDetector(String kind, Pattern pattern, Start start, Check check) {
    this.kind = requireNonNull(kind, "kind");
    this.pattern = requireNonNull(pattern, "pattern");
    this.start = requireNonNull(start, "start");
    this.check = requireNonNull(check, "check");
  }

  static RegexDetector of(String kind, String regex, Start start, Check check) {
    return new RegexDetector(kind, Pattern.compile(regex), start, check);
  }

  @Override
  public String kind() {
    return kind;
  }

  @Override
  public void detect(CharSequence text, List<Match> out) {
    Matcher m = pattern.matcher(text);
    int n = text.length();
    int i = 0;
    while (i < n) {
      if (!start.at(text, i)) {
        i++;
        continue;
      }
      // Transparent bounds: the pattern's look-behind and look-ahead see the text around the region.
      m.region(i, n).useTransparentBounds(true).useAnchoringBounds(false);
      int end = m.lookingAt() ? check.end(text, i, m.end()) : -1;
      if (end > i) {
        out.add(new Match(i, end, kind));
        i = end;
      } else {
        // A rejected candidate may hide a shorter one after its first char (a phone number followed
        // by another): go on from the next char. Candidates are bounded, so this stays linear.
        i++;
      }
    }
  }

  @Override
  public String toString() {
    return kind;
  }
}
