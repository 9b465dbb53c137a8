package io.infermesh.core.kv;

import java.util.Arrays;

/**
 * What a full KV block holds: the tokens of one block and, through {@code parent}, every token
 * before them. KV rows depend on exactly this (one pool serves one loaded model: its weights are
 * fixed, and sampling never changes KV), so two blocks with equal keys hold the same rows.
 *
 * <p>The hash is chained over the parent's, as vLLM's automatic prefix caching does; equality is
 * exact, not by hash: {@code parent} is compared by identity, which is sound because the index
 * keeps one key object per cached block and a child is keyed by the parent's own object. When the
 * parent is evicted its object leaves the index, a recomputed parent gets a new one, and the stale
 * children can no longer be found (they are evicted in their turn). Immutable.
 */
final class PrefixKey {
  private final PrefixKey parent; // null for a prompt's first block
  private final int[] tokens;
  private final int hash;

  PrefixKey(PrefixKey parent, int[] tokens) {
    this.parent = parent;
    this.tokens = tokens.clone();
    this.hash = 31 * (parent == null ? 0 : parent.hash) + Arrays.hashCode(tokens);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PrefixKey k && k.hash == hash && k.parent == parent && Arrays.equals(k.tokens, tokens);
  }

  @Override
  public int hashCode() {
    return hash;
  }
}
