package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Output filtering: what a model writes is read with the policy's detectors, and each value of a
 * kind the policy masks or blocks is replaced by {@code [KIND]} ({@code [CREDIT_CARD]}), except the
 * client's own values — those it sent in this request, which masking took out and the {@link
 * AnswerRestorer} puts back. Values of {@code local_only} kinds pass: they never left the edge.
 * Overlaps are settled as {@link Masker#mask} settles them.
 *
 * <p>Streaming ({@link #stream()}): a detector needs a whole value, so the last {@value #WINDOW}
 * chars are held back, and a match that reaches into them is held from its start (a PEM key from
 * its {@code -----BEGIN} until its END line or the detector's 64 KiB cap). A value no detector has
 * reported yet (an e-mail's local part before its {@code @}) is at most that long, so no value
 * crosses what is released. Each scan also reads the last {@value #WINDOW} released chars, the
 * context a detector looks back at. What is held is filtered at {@link Stream#flush()}. Any split of
 * an answer gives exactly {@link #filter} of the whole; the work is linear in the answer's length
 * (a scan runs once {@value #STEP} chars past the window have arrived, or once what is held has grown
 * by half since a scan that released nothing).
 *
 * <p>A JSON answer ({@link #json()}, a schema or tool calls): a redaction inside a string stays
 * {@code [KIND]} (no quote, no backslash: the string stays valid), one outside a string is written
 * {@code "[KIND]"}, and the client's own values count in their JSON-escaped form too.
 *
 * <p>Immutable and thread-safe; each {@link Stream} belongs to one answer and one thread.
 */
public final class AnswerFilter {
  /** Chars always held back while streaming. */
  static final int WINDOW = 160;
  /** New chars past the window that make a scan worth its cost. */
  static final int STEP = 32;

  private final Masker masker;
  /** kind + '\0' + value, for each value the client sent. */
  private final Set<String> own;
  private final boolean json;

  private AnswerFilter(Masker masker, Set<String> own, boolean json) {
    this.masker = masker;
    this.own = own;
    this.json = json;
  }

  /**
   * The filter of the answer to {@code request}, masked by {@code masker}: its placeholders' values
   * are the client's own.
   */
  public static AnswerFilter of(Masker masker, Masked request) {
    requireNonNull(masker, "masker");
    Set<String> own = new HashSet<>();
    request.placeholders().forEach((placeholder, value) -> own.add(kindOf(placeholder) + '\0' + value));
    return new AnswerFilter(masker, Set.copyOf(own), false);
  }

  /** This filter for a JSON answer. */
  public AnswerFilter json() {
    if (json) {
      return this;
    }
    JsonStringEncoder encoder = JsonStringEncoder.getInstance();
    Set<String> both = new HashSet<>(own);
    for (String entry : own) {
      int cut = entry.indexOf('\0');
      both.add(entry.substring(0, cut + 1) + new String(encoder.quoteAsString(entry.substring(cut + 1))));
    }
    return new AnswerFilter(masker, Set.copyOf(both), true);
  }

  /** The whole answer, filtered: one scan of all of it. */
  public String filter(String answer) {
    Stream s = stream();
    s.text.append(requireNonNull(answer, "answer"));
    return s.flush();
  }

  /** A filter for one streamed answer. */
  public Stream stream() {
    return new Stream();
  }

  /** {@code <EMAIL_1>} → {@code EMAIL}. */
  private static String kindOf(String placeholder) {
    return placeholder.substring(1, placeholder.lastIndexOf('_'));
  }

  /**
   * Filters one answer delta by delta. Holds at most {@value #WINDOW} + {@value #STEP} chars, more
   * only while a detected value is still growing, and half as much again (the scans' amortization).
   * Not thread-safe: one answer, one thread.
   */
  public final class Stream {
    /** Released original text (its last {@value #WINDOW} chars) then the held text. */
    private final StringBuilder text = new StringBuilder();
    private final Map<String, Integer> redacted = new TreeMap<>();
    /** Where the held text starts in {@link #text}. */
    private int held;
    /** The held length at the last scan that released nothing; 0 after one that did. */
    private int stuck;
    // the JSON lexer's state at the start of the held text
    private boolean inString;
    private boolean escaped;
    /** Chars the detectors were given, all scans together (the work is linear in the answer: tests check). */
    private long scanned;

    private Stream() {}

    /** The filtered text that can be released after {@code delta}; often empty. */
    public String accept(CharSequence delta) {
      text.append(requireNonNull(delta, "delta"));
      int pending = text.length() - held;
      if (pending < WINDOW + STEP || pending < stuck + stuck / 2) {
        return "";
      }
      return release(false);
    }

    /** The rest of the answer, filtered: call once, at its end. */
    public String flush() {
      return release(true);
    }

    /** Values redacted so far, per kind (never the values). */
    public Map<String, Integer> redacted() {
      return Map.copyOf(redacted);
    }

    /** Chars read by all scans so far. */
    long scanned() {
      return scanned;
    }

    private String release(boolean end) {
      scanned += text.length();
      List<Detector.Match> matches;
      try {
        matches = masker.find(text);
      } catch (SensitiveDataBlockedException e) { // a tenant's regex ran out of budget: nothing unread passes
        String out = redaction(e.kind(), inString);
        redacted.merge(e.kind(), 1, Integer::sum);
        text.setLength(0);
        held = 0;
        return out;
      }
      int until = end ? text.length() : text.length() - WINDOW;
      for (Detector.Match m : matches) {
        if (m.start() >= held && m.start() < until && m.end() > until) {
          until = m.start();
        }
      }
      if (until <= held) {
        stuck = text.length() - held;
        return "";
      }
      stuck = 0;
      StringBuilder out = new StringBuilder(until - held);
      int i = held;
      for (Detector.Match m : matches) {
        if (m.start() < held || m.start() >= until) {
          continue;
        }
        lex(out, i, m.start());
        boolean stringAtStart = inString;
        lex(null, m.start(), m.end());
        if (redacts(m)) {
          out.append(redaction(m.kind(), stringAtStart));
          redacted.merge(m.kind(), 1, Integer::sum);
        } else {
          out.append(text, m.start(), m.end());
        }
        i = m.end();
      }
      lex(out, i, until);
      int keep = Math.max(0, until - WINDOW); // context for the next scan: the window before what is held
      text.delete(0, keep);
      held = until - keep;
      return out.toString();
    }

    private boolean redacts(Detector.Match m) {
      PrivacyAction action = masker.action(m.kind());
      return (action == PrivacyAction.MASK || action == PrivacyAction.BLOCK)
          && !own.contains(m.kind() + '\0' + text.subSequence(m.start(), m.end()));
    }

    /** Copies {@code text[from, to)} to {@code out} (if not null), following JSON strings in a JSON answer. */
    private void lex(StringBuilder out, int from, int to) {
      if (out != null) {
        out.append(text, from, to);
      }
      if (!json) {
        return;
      }
      for (int i = from; i < to; i++) {
        char c = text.charAt(i);
        if (escaped) {
          escaped = false;
        } else if (inString && c == '\\') {
          escaped = true;
        } else if (c == '"') {
          inString = !inString;
        }
      }
    }

    private String redaction(String kind, boolean insideString) {
      return json && !insideString ? "\"[" + kind + "]\"" : "[" + kind + "]";
    }
  }
}
