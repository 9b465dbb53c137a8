/**
 * Constrained decoding in the core's own sampler: a {@link io.infermesh.models.grammar.Grammar}
 * (from a JSON schema or a tool list) compiled to a byte-level pushdown matcher ({@code
 * ByteGrammar}, the stack-set algorithm of llama.cpp's grammar sampler), the model's vocabulary
 * as a byte trie ({@code TokenTrie}), and per-step token masks computed by walking the trie
 * through the matcher, pruned as soon as a prefix is refused and cached per matcher state
 * (Caffeine), so a step that revisits a state (inside a string, between properties) costs a cache
 * lookup and one pass over the logits. See {@link io.infermesh.core.constrain.Constraints}.
 */
package io.infermesh.core.constrain;
