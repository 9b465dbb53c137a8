package io.infermesh.core.constrain;

import io.infermesh.models.tokenizer.TokenType;
import io.infermesh.models.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * The model's vocabulary as a byte trie: every token that renders as text (normal, byte and
 * user-defined tokens; control tokens never match a grammar) hangs off the node its bytes spell.
 * Built once per model by sorting the tokens' bytes, so children are laid out in byte order with
 * no lookups. Immutable and thread-safe.
 */
final class TokenTrie {
  final int vocabSize;
  final int nodes;
  final int[] firstChild; // (nodes): -1 for a leaf
  final int[] nextSibling; // (nodes): -1 for the last child
  final int[] label; // (nodes): the byte that leads here (root: -1)
  final int[] firstToken; // (nodes): a token spelled by this path, or -1
  final int[] sameToken; // (vocab): the next token with the same bytes, or -1
  final int[] depthBelow; // (nodes): the most bytes any path below this node adds
  final byte[][] bytes; // (vocab): each token's bytes (empty for tokens not in the trie)

  private TokenTrie(int vocabSize, int nodes, int[] firstChild, int[] nextSibling, int[] label, int[] firstToken,
      int[] sameToken, int[] depthBelow, byte[][] bytes) {
    this.vocabSize = vocabSize;
    this.nodes = nodes;
    this.firstChild = firstChild;
    this.nextSibling = nextSibling;
    this.label = label;
    this.firstToken = firstToken;
    this.sameToken = sameToken;
    this.depthBelow = depthBelow;
    this.bytes = bytes;
  }

  static TokenTrie of(Tokenizer tokenizer) {
    int vocab = tokenizer.vocabularySize();
    byte[][] bytes = new byte[vocab][];
    for (int t = 0; t < vocab; t++) {
      TokenType type = tokenizer.tokenType(t);
      boolean text = type == TokenType.NORMAL || type == TokenType.BYTE || type == TokenType.USER_DEFINED;
      bytes[t] = text ? tokenizer.piece(t, false) : new byte[0];
    }
    return of(bytes);
  }

  /** The trie of tokens spelled by {@code bytes} (by id); empty entries are left out. */
  static TokenTrie of(byte[][] bytes) {
    int vocab = bytes.length;
    Integer[] order = new Integer[vocab];
    int count = 0;
    for (int t = 0; t < vocab; t++) {
      if (bytes[t].length > 0) {
        order[count++] = t;
      }
    }
    Integer[] sorted = Arrays.copyOf(order, count);
    Arrays.sort(sorted, (a, b) -> Arrays.compareUnsigned(bytes[a], bytes[b]));
    int capacity = 1;
    for (Integer t : sorted) {
      capacity += bytes[t].length;
    }
    int[] firstChild = new int[capacity];
    int[] nextSibling = new int[capacity];
    int[] lastChild = new int[capacity];
    int[] label = new int[capacity];
    int[] firstToken = new int[capacity];
    int[] depthBelow = new int[capacity];
    int[] sameToken = new int[vocab];
    Arrays.fill(firstChild, -1);
    Arrays.fill(nextSibling, -1);
    Arrays.fill(lastChild, -1);
    Arrays.fill(firstToken, -1);
    Arrays.fill(sameToken, -1);
    label[0] = -1;
    int nodes = 1;
    int[] path = new int[256]; // path[d]: node at depth d of the previous token
    int pathLength = 0;
    byte[] previous = new byte[0];
    int[] lastTokenAt = new int[capacity];
    for (Integer t : sorted) {
      byte[] b = bytes[t];
      if (b.length >= path.length) {
        path = Arrays.copyOf(path, b.length * 2);
      }
      int lcp = 0;
      while (lcp < Math.min(b.length, previous.length) && lcp < pathLength && b[lcp] == previous[lcp]) {
        lcp++;
      }
      path[0] = 0;
      for (int d = lcp; d < b.length; d++) {
        int parent = path[d];
        int node = nodes++;
        label[node] = b[d] & 0xff;
        if (lastChild[parent] < 0) {
          firstChild[parent] = node;
        } else {
          nextSibling[lastChild[parent]] = node;
        }
        lastChild[parent] = node;
        path[d + 1] = node;
      }
      pathLength = b.length;
      int end = path[b.length];
      if (firstToken[end] < 0) {
        firstToken[end] = t;
      } else {
        sameToken[lastTokenAt[end]] = t;
      }
      lastTokenAt[end] = t;
      previous = b;
    }
    // children have higher numbers than their parent: one backward pass settles depthBelow
    for (int n = nodes - 1; n > 0; n--) {
      int best = 0;
      for (int c = firstChild[n]; c >= 0; c = nextSibling[c]) {
        best = Math.max(best, depthBelow[c] + 1);
      }
      depthBelow[n] = best;
    }
    return new TokenTrie(vocab, nodes, firstChild, nextSibling, label, firstToken, sameToken, depthBelow, bytes);
  }
}
