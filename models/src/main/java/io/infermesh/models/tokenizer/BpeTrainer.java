package io.infermesh.models.tokenizer;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Learns a byte-level BPE vocabulary from text, deterministically: the text is split into words
 * by the {@code gpt-2} pre-tokenizer (the one the vocabulary will be used with), each word is
 * spelled in GPT-2's byte alphabet, and the most frequent adjacent pair is merged, ties broken by
 * the pair's text, until the vocabulary has the size asked for or no pair occurs twice.
 *
 * <p>The result depends only on the text and the size: no hash iteration order, no randomness.
 *
 * <p>Stateless and thread-safe.
 */
public final class BpeTrainer {
  /**
   * A learned vocabulary: the 256 byte tokens (id = byte value), then one token per distinct merge
   * result, in merge order; and the merges ("left right"), by rank.
   */
  public record Result(List<String> tokens, List<String> merges) {
    public Result {
      tokens = List.copyOf(tokens);
      merges = List.copyOf(merges);
    }
  }

  private BpeTrainer() {}

  /**
   * Learns merges from {@code text} until there are {@code vocabularySize} tokens.
   *
   * @throws IllegalArgumentException if {@code vocabularySize} is below 256
   */
  public static Result train(String text, int vocabularySize) {
    requireNonNull(text, "text");
    if (vocabularySize < 256) {
      throw new IllegalArgumentException("a byte-level vocabulary needs at least 256 tokens, got " + vocabularySize);
    }
    // word (in the byte alphabet) -> occurrences; sorted so every later step is order-independent
    TreeMap<String, Integer> counts = new TreeMap<>();
    int[] cpts = text.codePoints().toArray();
    TokenBuffer lengths = Gpt2PreTokenizer.INSTANCE.split(cpts);
    int start = 0;
    for (int i = 0; i < lengths.size(); i++) {
      counts.merge(ByteLevel.encode(cpts, start, start + lengths.get(i)), 1, Integer::sum);
      start += lengths.get(i);
    }
    List<List<String>> words = new ArrayList<>();
    List<Integer> wordCounts = new ArrayList<>();
    counts.forEach((word, count) -> {
      List<String> symbols = new ArrayList<>();
      word.chars().forEach(c -> symbols.add(String.valueOf((char) c)));
      words.add(symbols);
      wordCounts.add(count);
    });

    LinkedHashSet<String> tokens = new LinkedHashSet<>();
    for (int b = 0; b < 256; b++) {
      tokens.add(String.valueOf(ByteLevel.charOf(b)));
    }
    List<String> merges = new ArrayList<>();
    while (tokens.size() < vocabularySize) {
      String[] best = mostFrequentPair(words, wordCounts);
      if (best == null) {
        break;
      }
      merges.add(best[0] + " " + best[1]);
      tokens.add(best[0] + best[1]);
      for (List<String> w : words) {
        applyMerge(w, best[0], best[1]);
      }
    }
    return new Result(new ArrayList<>(tokens), merges);
  }

  /** The pair occurring most often (at least twice); ties go to the smaller "left right" text. */
  static String[] mostFrequentPair(List<List<String>> words, List<Integer> wordCounts) {
    Map<String, Integer> pairs = new HashMap<>();
    for (int i = 0; i < words.size(); i++) {
      List<String> w = words.get(i);
      for (int j = 0; j + 1 < w.size(); j++) {
        pairs.merge(w.get(j) + '\0' + w.get(j + 1), wordCounts.get(i), Integer::sum);
      }
    }
    String bestKey = null;
    int bestCount = 1;
    for (Map.Entry<String, Integer> e : pairs.entrySet()) {
      int c = e.getValue();
      if (c > bestCount || (c == bestCount && bestKey != null && e.getKey().compareTo(bestKey) < 0)) {
        bestKey = e.getKey();
        bestCount = c;
      }
    }
    if (bestKey == null) {
      return null;
    }
    int sep = bestKey.indexOf('\0');
    return new String[] {bestKey.substring(0, sep), bestKey.substring(sep + 1)};
  }

  static void applyMerge(List<String> w, String left, String right) {
    for (int j = 0; j + 1 < w.size(); j++) {
      if (w.get(j).equals(left) && w.get(j + 1).equals(right)) {
        w.set(j, left + right);
        w.remove(j + 1);
      }
    }
  }
}
