package io.infermesh.core.constrain;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.infermesh.core.engine.TokenConstraint;
import io.infermesh.models.grammar.Grammar;
import io.infermesh.models.tokenizer.Tokenizer;

/**
 * Grammar constraints for one model's vocabulary: its token trie (built once), grammars compiled
 * once each and kept by content (the last 64 used), and the token masks of every state they
 * reach, in one cache bounded by bytes (64 MiB by default: a 150k vocabulary's mask is 19 KiB).
 * Thread-safe.
 */
public final class Constraints {
  private final TokenTrie trie;
  private final int[] endTokens;
  private final Cache<Grammar, CompiledGrammar> grammars = Caffeine.newBuilder().maximumSize(64).build();
  private final Cache<CompiledGrammar.Key, TokenMask> masks;

  Constraints(TokenTrie trie, int[] endTokens, long maskBytes) {
    this.trie = trie;
    this.endTokens = endTokens;
    this.masks = Caffeine.newBuilder().maximumWeight(maskBytes)
        .<CompiledGrammar.Key, TokenMask>weigher((k, m) -> 64 + m.bits().length * 8).build();
  }

  /** Constraints over {@code tokenizer}'s vocabulary; generation ends on its end-of-generation tokens. */
  public static Constraints of(Tokenizer tokenizer) {
    requireNonNull(tokenizer, "tokenizer");
    return new Constraints(TokenTrie.of(tokenizer),
        tokenizer.endOfGenerationTokens().stream().mapToInt(Integer::intValue).toArray(), 64L << 20);
  }

  /**
   * A factory of per-sequence constraints for {@code grammar} and an answer of at most {@code
   * maxTokens} tokens (used to finish the sentence in time, see {@link GrammarConstraint}).
   *
   * @throws IllegalArgumentException if the grammar cannot be run over bytes
   */
  public TokenConstraint.Factory factory(Grammar grammar, int maxTokens) {
    CompiledGrammar compiled = compile(grammar);
    return () -> new GrammarConstraint(compiled, maxTokens);
  }

  CompiledGrammar compile(Grammar grammar) {
    return grammars.get(grammar, g -> new CompiledGrammar(g, trie, endTokens, masks));
  }

  /** The vocabulary's size. */
  public int vocabularySize() {
    return trie.vocabSize;
  }
}
