/**
 * Grammars that constrain what a model may write: a small context-free grammar form ({@link
 * io.infermesh.models.grammar.Grammar}, the shape of llama.cpp's GBNF), the compilers that make one
 * from an OpenAI {@code response_format} JSON schema ({@link io.infermesh.models.grammar.JsonSchemaGrammar})
 * or from a tool list ({@link io.infermesh.models.grammar.ToolCallGrammar}), and the GBNF text the edge
 * hands to llama.cpp ({@link io.infermesh.models.grammar.Gbnf}). The core runs the same grammar in its
 * own sampler, so both tiers accept and refuse the same schemas and write the same shapes.
 */
package io.infermesh.models.grammar;
