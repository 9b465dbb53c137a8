package io.infermesh.models.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-level BPE over a pre-tokenizer's words, as llama.cpp's {@code llm_tokenizer_bpe_session}:
 * each word is spelled in GPT-2's byte alphabet, split into characters, and the adjacent pair
 * with the lowest merge rank (leftmost on ties) is merged until none is left. A final piece that
 * is not a token falls back to its single-ASCII-byte tokens, dropping the rest, as llama.cpp does.
 *
 * <p>Immutable and thread-safe.
 */
final class BpeModel {
  private final Vocabulary vocab;
  private final Map<String, Integer> ranks;
  private final PreTokenizer preTokenizer;
  private final boolean ignoreMerges;

  /**
   * @param merges {@code tokenizer.ggml.merges}: "left right", split at the first space after
   *     the first character, rank = index
   * @param ignoreMerges whether a word that is itself a token skips merging (Llama 3)
   */
  BpeModel(Vocabulary vocab, List<String> merges, PreTokenizer preTokenizer, boolean ignoreMerges) {
    this.vocab = vocab;
    this.preTokenizer = preTokenizer;
    this.ignoreMerges = ignoreMerges;
    this.ranks = new HashMap<>(merges.size() * 2);
    for (int i = 0; i < merges.size(); i++) {
      String m = merges.get(i);
      int space = m.indexOf(' ', 1);
      String key = space < 0 ? "\0" : pairKey(m.substring(0, space), m.substring(space + 1));
      ranks.putIfAbsent(key, i); // llama.cpp's std::map::emplace keeps the first
    }
  }

  private static String pairKey(String left, String right) {
    return left + '\0' + right;
  }

  void encode(String text, TokenBuffer out) {
    int[] cpts = text.codePoints().toArray();
    TokenBuffer lengths = preTokenizer.split(cpts);
    int start = 0;
    for (int w = 0; w < lengths.size(); w++) {
      int len = lengths.get(w);
      encodeWord(ByteLevel.encode(cpts, start, start + len), out);
      start += len;
    }
  }

  private void encodeWord(String word, TokenBuffer out) {
    if (ignoreMerges) {
      int id = vocab.id(word);
      if (id >= 0) {
        out.add(id);
        return;
      }
    }
    // Symbols are the word's characters (all in the BMP), linked so merges can splice them.
    int n = word.length();
    int[] start = new int[n];
    int[] length = new int[n];
    int[] prev = new int[n];
    int[] next = new int[n];
    for (int i = 0; i < n; i++) {
      start[i] = i;
      length[i] = 1;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    PriorityQueue<Bigram> queue = new PriorityQueue<>();
    for (int i = 1; i < n; i++) {
      addBigram(word, start, length, i - 1, i, queue);
    }
    while (!queue.isEmpty()) {
      Bigram b = queue.poll();
      if (length[b.left] == 0 || length[b.right] == 0) {
        continue;
      }
      if (length[b.left] + length[b.right] != b.text.length()
          || !word.regionMatches(start[b.left], b.text, 0, b.text.length())) {
        continue; // outdated: one side was merged elsewhere
      }
      length[b.left] += length[b.right];
      length[b.right] = 0;
      next[b.left] = next[b.right];
      if (next[b.right] >= 0) {
        prev[next[b.right]] = b.left;
      }
      if (prev[b.left] >= 0) {
        addBigram(word, start, length, prev[b.left], b.left, queue);
      }
      if (next[b.left] >= 0) {
        addBigram(word, start, length, b.left, next[b.left], queue);
      }
    }
    for (int i = 0; i != -1 && n > 0; i = next[i]) {
      if (length[i] == 0) {
        continue;
      }
      String piece = word.substring(start[i], start[i] + length[i]);
      int id = vocab.id(piece);
      if (id >= 0) {
        out.add(id);
        continue;
      }
      for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
        int single = b >= 0 ? vocab.id(String.valueOf((char) b)) : -1;
        if (single >= 0) {
          out.add(single);
        }
      }
    }
  }

  private void addBigram(String word, int[] start, int[] length, int left, int right, PriorityQueue<Bigram> queue) {
    String l = word.substring(start[left], start[left] + length[left]);
    String r = word.substring(start[right], start[right] + length[right]);
    Integer rank = ranks.get(pairKey(l, r));
    if (rank != null) {
      queue.add(new Bigram(left, right, l + r, rank));
    }
  }

  /** A candidate merge; lower rank first, then the leftmost. */
  private record Bigram(int left, int right, String text, int rank) implements Comparable<Bigram> {
    @Override
    public int compareTo(Bigram o) {
      return rank != o.rank ? Integer.compare(rank, o.rank) : Integer.compare(left, o.left);
    }
  }
}
