package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.util.Map;
import java.util.TreeMap;

/**
 * Puts a request's original values back into its answer: each placeholder of the request's {@link
 * Masked#placeholders()} that the answer holds is replaced by its value; any other text, including
 * placeholders of other requests or made-up ones ({@code <EMAIL_9>}), is left as it is.
 *
 * <p>A placeholder starts with {@code <}, ends with the first {@code >} after it and holds no other
 * {@code <} or {@code >}, so no placeholder is a prefix of another and a left-to-right scan is
 * unambiguous. {@link #restore} and a {@link #stream()} fed any split of the same text give the same
 * result.
 *
 * <p>Immutable and thread-safe; each {@link Stream} belongs to one answer and one thread.
 */
public final class AnswerRestorer {
  private static final AnswerRestorer NONE = new AnswerRestorer(new TreeMap<>());

  private final TreeMap<String, String> values;
  private final int longest;

  private AnswerRestorer(TreeMap<String, String> values) {
    this.values = values;
    this.longest = values.keySet().stream().mapToInt(String::length).max().orElse(0);
  }

  /** A restorer for {@code placeholders} (placeholder → original). */
  public static AnswerRestorer of(Map<String, String> placeholders) {
    requireNonNull(placeholders, "placeholders");
    if (placeholders.isEmpty()) {
      return NONE;
    }
    for (String p : placeholders.keySet()) {
      if (p.length() < 3 || p.charAt(0) != '<' || p.indexOf('>') != p.length() - 1 || p.indexOf('<', 1) >= 0) {
        throw new IllegalArgumentException("a placeholder is <...> with no < or > inside, got " + p);
      }
    }
    return new AnswerRestorer(new TreeMap<>(placeholders));
  }

  /**
   * A restorer for text inside a JSON string (a tool call's arguments as the model writes them):
   * each value is put back JSON-escaped, so a value holding a newline or a quote (a PEM key) keeps
   * the arguments valid JSON.
   */
  public AnswerRestorer jsonEscaped() {
    if (values.isEmpty()) {
      return this;
    }
    TreeMap<String, String> escaped = new TreeMap<>();
    JsonStringEncoder encoder = JsonStringEncoder.getInstance();
    values.forEach((k, v) -> escaped.put(k, new String(encoder.quoteAsString(v))));
    return new AnswerRestorer(escaped);
  }

  /** Whether there is nothing to restore (answers pass through unchanged). */
  public boolean isEmpty() {
    return values.isEmpty();
  }

  /** The whole answer, restored. */
  public String restore(String answer) {
    requireNonNull(answer, "answer");
    if (values.isEmpty() || answer.indexOf('<') < 0) {
      return answer;
    }
    StringBuilder out = new StringBuilder(answer.length());
    int done = scan(answer, out, true);
    return out.append(answer, done, answer.length()).toString();
  }

  /** A restorer for one streamed answer. */
  public Stream stream() {
    return new Stream();
  }

  /**
   * Appends {@code text} restored to {@code out} up to where it can tell; returns how far it got.
   * With {@code end} false it stops before a tail that could still grow into a placeholder.
   */
  private int scan(CharSequence text, StringBuilder out, boolean end) {
    int n = text.length();
    int i = 0;
    int copied = 0;
    while (i < n) {
      char c = text.charAt(i);
      if (c != '<') {
        i++;
        continue;
      }
      int close = -1;
      int limit = Math.min(n, i + longest);
      for (int j = i + 1; j < limit; j++) {
        char d = text.charAt(j);
        if (d == '>') {
          close = j;
          break;
        }
        if (d == '<') {
          break;
        }
      }
      if (close >= 0) {
        String value = values.get(text.subSequence(i, close + 1).toString());
        if (value != null) {
          out.append(text, copied, i).append(value);
          i = close + 1;
          copied = i;
          continue;
        }
      } else if (!end && couldStart(text, i)) {
        out.append(text, copied, i);
        return i;
      }
      i++;
    }
    out.append(text, copied, n);
    return n;
  }

  /** Whether {@code text[i..]} is a proper prefix of some placeholder. */
  private boolean couldStart(CharSequence text, int i) {
    if (text.length() - i >= longest) {
      return false;
    }
    String tail = text.subSequence(i, text.length()).toString();
    String next = values.ceilingKey(tail);
    return next != null && next.startsWith(tail);
  }

  /**
   * Restores a streamed answer delta by delta, holding back only a tail that could still be the
   * start of a placeholder ({@code <EM} at a delta's end), and releasing it as soon as it cannot
   * ({@code <EMX}) or at {@link #flush()}. Holds at most the longest placeholder's length minus one
   * chars. Not thread-safe: one answer, one thread.
   */
  public final class Stream {
    private final StringBuilder pending = new StringBuilder();

    private Stream() {}

    /** The restored text that can be released after {@code delta}; often empty or {@code delta} itself. */
    public String accept(CharSequence delta) {
      requireNonNull(delta, "delta");
      if (values.isEmpty()) {
        return delta.toString();
      }
      pending.append(delta);
      StringBuilder out = new StringBuilder(pending.length());
      int done = scan(pending, out, false);
      pending.delete(0, done);
      return out.toString();
    }

    /** Chars held back, waiting for the next delta. */
    public int held() {
      return pending.length();
    }

    /** Releases what is held back, as it is: the answer ended inside what was not a placeholder. */
    public String flush() {
      String rest = pending.toString();
      pending.setLength(0);
      return rest;
    }
  }
}
