package io.infermesh.models.tokenizer;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Learns a SentencePiece-style vocabulary (BPE over characters, {@code ▁} marking word starts)
 * from text, deterministically. Each line becomes words {@code ▁word}; characters seen at least
 * twice become pieces; then the most frequent adjacent pair is merged (ties by text) until the
 * size is reached. Scores make llama.cpp's merge-by-score replay the learned order: merges score
 * {@code -rank}, characters score below every merge.
 *
 * <p>Stateless and thread-safe.
 */
public final class SentencePieceTrainer {
  /** Pieces (merges first, then characters) with their scores, in vocabulary order. */
  public record Result(List<String> pieces, float[] scores) {
    public Result {
      pieces = List.copyOf(pieces);
      scores = scores.clone();
    }

    @Override
    public float[] scores() {
      return scores.clone();
    }
  }

  private SentencePieceTrainer() {}

  /**
   * Learns up to {@code pieceCount} pieces from {@code text}.
   *
   * @throws IllegalArgumentException if {@code pieceCount} is not positive
   */
  public static Result train(String text, int pieceCount) {
    requireNonNull(text, "text");
    if (pieceCount <= 0) {
      throw new IllegalArgumentException("pieceCount must be positive, got " + pieceCount);
    }
    TreeMap<String, Integer> counts = new TreeMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      String escaped = "\u2581" + line.strip().replace(' ', '\u2581');
      int from = 0;
      for (int i = 1; i <= escaped.length(); i++) {
        if (i == escaped.length() || escaped.charAt(i) == '\u2581') {
          counts.merge(escaped.substring(from, i), 1, Integer::sum);
          from = i;
        }
      }
    }
    // characters seen at least twice, most frequent first, then by code point
    Map<Integer, Integer> charCounts = new TreeMap<>();
    counts.forEach((w, c) -> w.codePoints().forEach(cp -> charCounts.merge(cp, c, Integer::sum)));
    List<Integer> chars = new ArrayList<>();
    charCounts.forEach((cp, c) -> {
      if (c >= 2) chars.add(cp);
    });
    chars.sort(Comparator.comparingInt((Integer cp) -> -charCounts.get(cp)).thenComparingInt(cp -> cp));

    List<List<String>> words = new ArrayList<>();
    List<Integer> wordCounts = new ArrayList<>();
    counts.forEach((word, count) -> {
      List<String> symbols = new ArrayList<>();
      word.codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
      words.add(symbols);
      wordCounts.add(count);
    });

    LinkedHashMap<String, Float> merged = new LinkedHashMap<>();
    int budget = pieceCount - chars.size();
    while (merged.size() < budget) {
      String[] best = BpeTrainer.mostFrequentPair(words, wordCounts);
      if (best == null) {
        break;
      }
      merged.putIfAbsent(best[0] + best[1], (float) -merged.size());
      for (List<String> w : words) {
        BpeTrainer.applyMerge(w, best[0], best[1]);
      }
    }
    List<String> pieces = new ArrayList<>(merged.keySet());
    float[] scores = new float[merged.size() + chars.size()];
    int i = 0;
    for (float s : merged.values()) {
      scores[i++] = s;
    }
    for (int cp : chars) {
      String c = new String(Character.toChars(cp));
      if (merged.containsKey(c)) {
        continue;
      }
      pieces.add(c);
      scores[i] = -(i + 1); // below every merge
      i++;
    }
    return new Result(pieces, Arrays.copyOf(scores, i));
  }
}
