package io.infermesh.core.constrain;

import com.github.benmanes.caffeine.cache.Cache;
import io.infermesh.models.grammar.Grammar;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One grammar ready to constrain one model: its byte matcher, the model's token trie and end
 * tokens, and masks by state from a shared cache. Thread-safe (masks may be computed twice by
 * racing sequences; both results are equal).
 */
final class CompiledGrammar {
  /** A budget that never binds. */
  static final int UNBOUNDED = Integer.MAX_VALUE;

  final ByteGrammar matcher;
  final TokenTrie trie;
  private final int[] endTokens;
  private final Cache<Key, TokenMask> masks;
  private final MatchState initial;
  /** One object per distinct state, so transitions can be remembered on it; bounded. */
  private final Map<MatchState, MatchState> interned = new ConcurrentHashMap<>();
  private static final int MAX_INTERNED = 10_000; // a state with its transition table is ~1 KiB
  private static final MatchState DEAD = new MatchState(new ByteGrammar.Frame[0], false);

  /** A cache key: this grammar, a state, and a budget. */
  record Key(CompiledGrammar grammar, MatchState state, int budget) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.grammar == grammar && k.budget == budget && k.state.equals(state);
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(grammar) * 31 + state.hashCode() * 7 + budget;
    }
  }

  CompiledGrammar(Grammar grammar, TokenTrie trie, int[] endTokens, Cache<Key, TokenMask> masks) {
    this.matcher = ByteGrammar.compile(grammar);
    this.trie = trie;
    this.endTokens = endTokens.clone();
    this.masks = masks;
    this.initial = intern(matcher.initial());
  }

  /**
   * The state after byte {@code b}, or null when refused: remembered per interned state, so a walk
   * that revisits a state (every byte inside a string does) costs an array read.
   */
  MatchState step(MatchState s, int b) {
    MatchState[] t = s.transitions;
    if (t != null) {
      MatchState known = t[b];
      if (known != null) {
        return known == DEAD ? null : known;
      }
    }
    MatchState next = matcher.advance(s, b);
    if (next == null) {
      if (t != null) {
        t[b] = DEAD;
      }
      return null;
    }
    MatchState one = intern(next);
    if (one == null) {
      return next; // past the bound: correct, just not remembered
    }
    if (t != null) {
      t[b] = one;
    }
    return one;
  }

  /** The state after {@code bytes}, or null when refused on the way. */
  MatchState step(MatchState s, byte[] bytes) {
    for (int i = 0; i < bytes.length && s != null; i++) {
      s = step(s, bytes[i] & 0xff);
    }
    return s;
  }

  /** The one object for {@code s} (with a transition table), or null once the bound is reached. */
  private MatchState intern(MatchState s) {
    MatchState known = interned.get(s);
    if (known != null) {
      return known;
    }
    if (interned.size() >= MAX_INTERNED) {
      return null;
    }
    s.transitions = new MatchState[256];
    known = interned.putIfAbsent(s, s);
    return known == null ? s : known;
  }

  MatchState initial() {
    return initial;
  }

  /** The mask of {@code state} where every allowed text token leads to a distance ≤ {@code budget}. */
  TokenMask mask(MatchState state, int budget) {
    return masks.get(new Key(this, state, budget), k -> compute(state, budget));
  }

  /**
   * Walks the trie depth first carrying the matcher state of each prefix; a refused prefix cuts its
   * whole subtree, and under a budget so does a prefix whose distance cannot drop to the budget
   * within the deepest token below it (each byte lowers the distance by at most one).
   */
  TokenMask compute(MatchState state, int budget) {
    long[] bits = new long[(trie.vocabSize + 63) >>> 6];
    int maxDistance = -1;
    int allowed = 0;
    int[] nodeStack = new int[Math.max(16, trie.nodes)];
    MatchState[] stateStack = new MatchState[nodeStack.length];
    int top = 0;
    for (int c = trie.firstChild[0]; c >= 0; c = trie.nextSibling[c]) {
      nodeStack[top] = c;
      stateStack[top++] = state;
    }
    while (top > 0) {
      int node = nodeStack[--top];
      MatchState s = step(stateStack[top], trie.label[node]);
      stateStack[top] = null;
      if (s == null) {
        continue;
      }
      if (budget != UNBOUNDED && s.distance() - trie.depthBelow[node] > budget) {
        continue;
      }
      if (budget == UNBOUNDED || s.distance() <= budget) {
        for (int t = trie.firstToken[node]; t >= 0; t = trie.sameToken[t]) {
          bits[t >>> 6] |= 1L << (t & 63);
          allowed++;
          maxDistance = Math.max(maxDistance, s.distance());
        }
      }
      for (int c = trie.firstChild[node]; c >= 0; c = trie.nextSibling[c]) {
        nodeStack[top] = c;
        stateStack[top++] = s;
      }
    }
    if (state.accepting) {
      for (int t : endTokens) {
        if (t >= 0 && t < trie.vocabSize) {
          bits[t >>> 6] |= 1L << (t & 63);
          allowed++;
        }
      }
    }
    return new TokenMask(bits, maxDistance, allowed);
  }

  boolean isEnd(int token) {
    for (int t : endTokens) {
      if (t == token) {
        return true;
      }
    }
    return false;
  }
}
