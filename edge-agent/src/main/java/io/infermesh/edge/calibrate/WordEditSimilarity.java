package io.infermesh.edge.calibrate;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How much two answers to one prompt agree: the normalized word-level edit similarity {@code 1 −
 * levenshtein(words(a), words(b)) / max(|words(a)|, |words(b)|)}, in {@code [0, 1]} (1 for equal
 * word sequences, and for two empty answers). Words are maximal runs of letters or digits,
 * lower-cased; punctuation and spacing do not count.
 *
 * <p>Why words and not embeddings: it is deterministic and model-independent (the edge and the core
 * need not share a tokenizer), costs no call to the edge model's single embedding context (which the
 * router needs on the request path), and for the greedy answers a router mostly sees it measures
 * exactly "would the core have said the same". Its failure case is a paraphrase: a correct local
 * answer worded differently counts as disagreement, which errs towards escalating more.
 *
 * <p>Each answer is cut to its first {@link #MAX_WORDS} words, so a comparison is at most {@code
 * MAX_WORDS²} steps. Stateless and thread-safe.
 */
public final class WordEditSimilarity {
  /** Words of each answer compared. */
  public static final int MAX_WORDS = 512;

  private WordEditSimilarity() {}

  /** The similarity of {@code a} and {@code b} in {@code [0, 1]}. */
  public static double similarity(String a, String b) {
    List<String> x = words(a);
    List<String> y = words(b);
    int longest = Math.max(x.size(), y.size());
    if (longest == 0) {
      return 1;
    }
    return 1 - (double) distance(x, y) / longest;
  }

  /** Levenshtein distance over words, two rows of O(|y|) memory. */
  private static int distance(List<String> x, List<String> y) {
    int[] previous = new int[y.size() + 1];
    int[] current = new int[y.size() + 1];
    for (int j = 0; j <= y.size(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= x.size(); i++) {
      current[0] = i;
      for (int j = 1; j <= y.size(); j++) {
        int substitute = previous[j - 1] + (x.get(i - 1).equals(y.get(j - 1)) ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] t = previous;
      previous = current;
      current = t;
    }
    return previous[y.size()];
  }

  static List<String> words(String text) {
    List<String> out = new ArrayList<>();
    int start = -1;
    for (int i = 0; i <= text.length() && out.size() < MAX_WORDS; i++) {
      boolean word = i < text.length() && Character.isLetterOrDigit(text.charAt(i));
      if (word && start < 0) {
        start = i;
      } else if (!word && start >= 0) {
        out.add(text.substring(start, i).toLowerCase(Locale.ROOT));
        start = -1;
      }
    }
    return out;
  }
}
