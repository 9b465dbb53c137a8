package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A detector made of a candidate pattern and a check on each candidate. Linear time rests on the
 * pattern: every built-in one starts with a one-char look-behind that fails inside a run of the
 * chars it could start with, and repeats only a bounded number of times, so each start position
 * costs at most the longest match. {@code RegexDetectorWorkTest} counts the character reads.
 */
final class RegexDetector implements Detector {
  /** Accepts a candidate and says where the value ends: {@code -1} to reject it. */
  @FunctionalInterface
  interface Check {
    int end(CharSequence text, int start, int end);
  }

  private final String kind;
  private final Pattern pattern;
  private final int group;
  private final Check check;

  RegexDetector(String kind, Pattern pattern, int group, Check check) {
    this.kind = requireNonNull(kind, "kind");
    this.pattern = requireNonNull(pattern, "pattern");
    this.group = group;
    this.check = requireNonNull(check, "check");
  }

  static RegexDetector of(String kind, String regex, Check check) {
    return new RegexDetector(kind, Pattern.compile(regex), 0, check);
  }

  @Override
  public String kind() {
    return kind;
  }

  @Override
  public void detect(CharSequence text, List<Match> out) {
    Matcher m = pattern.matcher(text);
    int from = 0;
    while (from < text.length() && m.find(from)) {
      int start = m.start(group);
      if (start < 0) {
        from = m.end() > m.start() ? m.end() : m.start() + 1;
        continue;
      }
      int end = check.end(text, start, m.end(group));
      if (end > start) {
        out.add(new Match(start, end, kind));
        from = Math.max(end, m.start() + 1);
      } else {
        // A rejected candidate may hide a shorter one after its first char (a phone number followed
        // by another): look again from the next char. Candidates are bounded, so this stays linear.
        from = m.start() + 1;
      }
    }
  }

  @Override
  public String toString() {
    return kind;
  }
}
