package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A tenant's words and phrases, matched whole and case-insensitively. One pass splits the text into
 * words (runs of letters and digits); each word is looked up by its lower-case form, and a phrase is
 * compared word by word from its first word. Work is the text's length plus, per word, the phrases
 * that start with it.
 */
final class WordListDetector implements Detector {
  private final String kind;
  /** first word → the phrases (as words) that start with it, single words included. */
  private final Map<String, List<String[]>> byFirstWord;

  private WordListDetector(String kind, Map<String, List<String[]>> byFirstWord) {
    this.kind = kind;
    this.byFirstWord = byFirstWord;
  }

  static WordListDetector of(String kind, Collection<String> words) {
    requireNonNull(words, "words");
    Map<String, List<String[]>> index = new HashMap<>();
    for (String w : words) {
      List<String> parts = split(requireNonNull(w, "word"));
      if (parts.isEmpty()) {
        throw new IllegalArgumentException("word list " + kind + " holds an entry with no letters or digits");
      }
      index.computeIfAbsent(parts.get(0), k -> new ArrayList<>()).add(parts.toArray(String[]::new));
    }
    return new WordListDetector(requireNonNull(kind, "kind"), index);
  }

  private static List<String> split(String s) {
    List<String> out = new ArrayList<>();
    int i = 0;
    while (i < s.length()) {
      while (i < s.length() && !Character.isLetterOrDigit(s.charAt(i))) {
        i++;
      }
      int start = i;
      while (i < s.length() && Character.isLetterOrDigit(s.charAt(i))) {
        i++;
      }
      if (i > start) {
        out.add(s.substring(start, i).toLowerCase(Locale.ROOT));
      }
    }
    return out;
  }

  @Override
  public String kind() {
    return kind;
  }

  @Override
  public void detect(CharSequence text, List<Match> out) {
    // Word boundaries as (start, end) pairs; phrases read ahead in this array.
    int[] bounds = new int[16];
    int count = 0;
    int n = text.length();
    int i = 0;
    while (i < n) {
      while (i < n && !Character.isLetterOrDigit(text.charAt(i))) {
        i++;
      }
      int start = i;
      while (i < n && Character.isLetterOrDigit(text.charAt(i))) {
        i++;
      }
      if (i > start) {
        if (count * 2 + 2 > bounds.length) {
          bounds = Arrays.copyOf(bounds, bounds.length * 2);
        }
        bounds[count * 2] = start;
        bounds[count * 2 + 1] = i;
        count++;
      }
    }
    for (int w = 0; w < count; w++) {
      List<String[]> phrases = byFirstWord.get(word(text, bounds, w));
      if (phrases == null) {
        continue;
      }
      int longest = -1;
      for (String[] phrase : phrases) {
        if (w + phrase.length <= count && matches(text, bounds, w, phrase)) {
          longest = Math.max(longest, w + phrase.length - 1);
        }
      }
      if (longest >= 0) {
        out.add(new Match(bounds[w * 2], bounds[longest * 2 + 1], kind));
      }
    }
  }

  private static String word(CharSequence text, int[] bounds, int w) {
    return text.subSequence(bounds[w * 2], bounds[w * 2 + 1]).toString().toLowerCase(Locale.ROOT);
  }

  private static boolean matches(CharSequence text, int[] bounds, int w, String[] phrase) {
    for (int k = 1; k < phrase.length; k++) {
      if (!word(text, bounds, w + k).equals(phrase[k])) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return kind;
  }
}
