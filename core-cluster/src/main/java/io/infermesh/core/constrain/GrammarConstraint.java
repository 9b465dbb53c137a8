package io.infermesh.core.constrain;

import io.infermesh.core.engine.TokenConstraint;

/**
 * One sequence's grammar constraint. Each step allows the tokens the grammar accepts from the
 * current state; when the tokens left could not finish the sentence after some allowed token, it
 * allows only tokens after which the sentence can still be finished in time (text tokens whose
 * distance after them is at most {@code left - 2}: one token per remaining byte, plus the end
 * token), so an answer given enough {@code max_tokens} always ends whole. When the budget is too
 * small even for that, the plain mask applies and the answer is cut off ({@code length}).
 * Confined to the sampling thread.
 */
final class GrammarConstraint implements TokenConstraint {
  private final CompiledGrammar grammar;
  private MatchState state; // null once ended or lost
  private int left;

  GrammarConstraint(CompiledGrammar grammar, int maxTokens) {
    this.grammar = grammar;
    this.state = grammar.initial();
    this.left = maxTokens;
  }

  @Override
  public void mask(float[] row) {
    if (state == null) {
      return; // ended: the scheduler stops the sequence on the end token
    }
    TokenMask m = grammar.mask(state, CompiledGrammar.UNBOUNDED);
    int budget = left - 2;
    if (budget < m.maxDistance()) {
      TokenMask tight = grammar.mask(state, Math.max(-1, budget));
      if (tight.allowed() > 0) {
        m = tight;
      }
    }
    m.apply(row);
  }

  @Override
  public void accept(int token) {
    left--;
    if (state == null) {
      return;
    }
    if (grammar.isEnd(token)) {
      state = null;
      return;
    }
    state = grammar.step(state, grammar.trie.bytes[token]);
  }
}
