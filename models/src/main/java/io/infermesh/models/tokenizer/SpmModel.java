package io.infermesh.models.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.PriorityQueue;

/**
 * SentencePiece-style merging by score, as llama.cpp's {@code llm_tokenizer_spm_session}: the
 * text (spaces already escaped to {@code ▁}) is split into characters, and the adjacent pair whose
 * concatenation is a token with the highest score (leftmost on ties) is merged until no pair is a
 * token. A final piece that is not a token is emitted as byte tokens {@code <0xNN>}.
 *
 * <p>Immutable and thread-safe.
 */
final class SpmModel {
  private final Vocabulary vocab;
  private final int[] byteTokens = new int[256];

  SpmModel(Vocabulary vocab) {
    this.vocab = vocab;
    for (int b = 0; b < 256; b++) {
      int id = vocab.id(String.format("<0x%02X>", b));
      if (id < 0 && b < 0x80) {
        id = vocab.id(String.valueOf((char) b)); // llama.cpp falls back to the byte as text
      }
      byteTokens[b] = id;
    }
  }

  void encode(String text, TokenBuffer out) {
    int[] cpts = text.codePoints().toArray();
    int n = cpts.length;
    String[] pieces = new String[n];
    int[] prev = new int[n];
    int[] next = new int[n];
    for (int i = 0; i < n; i++) {
      pieces[i] = new String(cpts, i, 1);
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    PriorityQueue<Bigram> queue = new PriorityQueue<>();
    for (int i = 1; i < n; i++) {
      addBigram(pieces, i - 1, i, queue);
    }
    while (!queue.isEmpty()) {
      Bigram b = queue.poll();
      String left = pieces[b.left];
      String right = pieces[b.right];
      if (left.isEmpty() || right.isEmpty() || left.length() + right.length() != b.length) {
        continue; // outdated: one side was merged elsewhere
      }
      pieces[b.left] = left + right;
      pieces[b.right] = "";
      next[b.left] = next[b.right];
      if (next[b.right] >= 0) {
        prev[next[b.right]] = b.left;
      }
      if (prev[b.left] >= 0) {
        addBigram(pieces, prev[b.left], b.left, queue);
      }
      if (next[b.left] >= 0) {
        addBigram(pieces, b.left, next[b.left], queue);
      }
    }
    for (int i = 0; i != -1 && n > 0; i = next[i]) {
      int id = vocab.id(pieces[i]);
      if (id >= 0) {
        out.add(id);
        continue;
      }
      for (byte b : pieces[i].getBytes(StandardCharsets.UTF_8)) {
        int t = byteTokens[b & 0xFF];
        if (t < 0) {
          throw new IllegalStateException(
              "the vocabulary has no byte token <0x" + String.format("%02X", b & 0xFF) + "> to spell '" + pieces[i] + "'");
        }
        out.add(t);
      }
    }
  }

  private void addBigram(String[] pieces, int left, int right, PriorityQueue<Bigram> queue) {
    String text = pieces[left] + pieces[right];
    int id = vocab.id(text);
    if (id >= 0) {
      queue.add(new Bigram(left, right, vocab.score(id), text.length()));
    }
  }

  /** A candidate merge; higher score first, then the leftmost. */
  private record Bigram(int left, int right, float score, int length) implements Comparable<Bigram> {
    @Override
    public int compareTo(Bigram o) {
      if (score != o.score) {
        return score > o.score ? -1 : 1;
      }
      return Integer.compare(left, o.left);
    }
  }
}
